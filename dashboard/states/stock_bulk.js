// The stock grid's bulk edit, run once per tab when it is first turned on
// (dashboard/states/stock_bulk.py): the on-hand inputs carry
// data-bulk-row / data-bulk-col. Arrows move between them (left and right once the caret
// is at the edge), Enter moves down (Shift+Enter up), focus selects so typing replaces,
// a pasted block (tab-separated lines, as a spreadsheet copies them) is sent whole to the
// state through the bar's hidden data-bulk-paste input (the state judges it, then fills
// the cells right and down from the focused one through rackroomBulkFill), and leaving
// with unsaved edits asks first (the bar's data-bulk-unsaved).
(() => {
  if (window.rackroomBulkEdit) return;
  window.rackroomBulkEdit = true;
  const isCell = (el) => el instanceof HTMLInputElement && el.dataset.bulkRow !== undefined;
  const at = (row, col) =>
    document.querySelector(`input[data-bulk-row="${row}"][data-bulk-col="${col}"]`);
  const move = (el, down, right) => {
    const next = at(Number(el.dataset.bulkRow) + down, Number(el.dataset.bulkCol) + right);
    if (next) { next.focus(); next.select(); }
  };
  document.addEventListener("keydown", (e) => {
    const el = e.target;
    if (!isCell(el) || e.altKey || e.ctrlKey || e.metaKey) return;
    const all = el.selectionStart === 0 && el.selectionEnd === el.value.length;
    const steps = {
      ArrowUp: [-1, 0],
      ArrowDown: [1, 0],
      Enter: [e.shiftKey ? -1 : 1, 0],
      ArrowLeft: all || el.selectionEnd === 0 ? [0, -1] : null,
      ArrowRight: all || el.selectionStart === el.value.length ? [0, 1] : null,
    };
    const step = steps[e.key];
    if (step) { e.preventDefault(); move(el, ...step); }
  });
  // Focus selects the figure; the click that focused must not then drop the selection.
  let focused = null;
  document.addEventListener("focusin", (e) => {
    if (isCell(e.target)) { e.target.select(); focused = e.target; }
  });
  document.addEventListener("mouseup", (e) => {
    if (e.target === focused) e.preventDefault();
    focused = null;
  });
  const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set;
  let pastes = 0;
  document.addEventListener("paste", (e) => {
    const el = e.target;
    if (!isCell(el)) return;
    const lines = (e.clipboardData?.getData("text") || "").replace(/\r/g, "")
      .replace(/\n+$/, "").split("\n").map((line) => line.split("\t"));
    if (lines.length < 2 && lines[0].length < 2) return; // one value: the input's own paste
    e.preventDefault();
    const top = Number(el.dataset.bulkRow), left = Number(el.dataset.bulkCol);
    const cells = [];
    let leftOut = 0; // beyond the grid's edge
    lines.forEach((values, down) => values.forEach((value, right) => {
      const cell = at(top + down, left + right);
      if (cell) cells.push([cell.dataset.bulkKey, value.trim()]);
      else leftOut += 1;
    }));
    const box = document.querySelector("input[data-bulk-paste]");
    if (!box) return;
    // As if typed, so React's onChange sends it; the count makes every paste a change.
    setValue.call(box, JSON.stringify({ cells, left_out: leftOut, paste: ++pastes }));
    box.dispatchEvent(new Event("input", { bubbles: true }));
  });
  // The state's answer to an accepted paste: the cells show what it now holds for them.
  window.rackroomBulkFill = (cells) => {
    for (const [key, value] of cells) {
      const cell = document.querySelector(`input[data-bulk-key="${key}"]`);
      if (cell) cell.value = value; // React's own setter: its next onChange still fires
    }
  };
  const unsaved = () =>
    Number(document.querySelector("[data-bulk-unsaved]")?.dataset.bulkUnsaved || 0);
  window.addEventListener("beforeunload", (e) => {
    if (unsaved()) { e.preventDefault(); e.returnValue = ""; }
  });
  document.addEventListener("click", (e) => {
    const link = e.target instanceof Element ? e.target.closest("a[href]") : null;
    const count = unsaved();
    if (!link || !count) return;
    if (!window.confirm(`Leave bulk edit? ${count} unsaved change(s) will be lost.`)) {
      e.preventDefault();
      e.stopPropagation();
    }
  }, true);
})();
