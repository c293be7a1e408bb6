// The stock grid's bulk edit, run once per tab when it is first turned on
// (dashboard/states/stock_bulk.py): the on-hand inputs carry
// data-bulk-row / data-bulk-col. Arrows move between them (left and right once the caret
// is at the edge), Enter moves down (Shift+Enter up), focus selects so typing replaces,
// a pasted column (several lines, first column of each) fills downward from the cell,
// and leaving with unsaved edits asks first (the bar's data-bulk-unsaved).
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
  document.addEventListener("paste", (e) => {
    const el = e.target;
    if (!isCell(el)) return;
    const lines = (e.clipboardData?.getData("text") || "").replace(/\r/g, "")
      .replace(/\n+$/, "").split("\n").map((line) => line.split("\t")[0].trim());
    if (lines.length < 2) return; // one value: the input's own paste
    e.preventDefault();
    let row = Number(el.dataset.bulkRow);
    for (const value of lines) {
      const cell = at(row++, el.dataset.bulkCol);
      if (!cell) break;
      setValue.call(cell, value); // as if typed: React's onChange sends it
      cell.dispatchEvent(new Event("input", { bubbles: true }));
    }
  });
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
