"""The scan box: an input a barcode scanner types into (code, then Enter), with the
last scan's confirmation or warning under it. Its state half is `states/scanning.py`.

The box is a form of its own, reset in the browser as Enter submits it, so a fast
scanner's next code never waits for the server. A confirmation flashes green and
names what was counted; a warning (an unknown code, one not on this document) is
amber and announced. Rows light up with `scan_lit(S, key)`.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from dashboard.components.blocks import column, inline, notice
from dashboard.states.scanning import SCAN_INPUT

_FLASH = (
    "@keyframes rr-scan-flash { from { background-color: var(--green-6); } "
    "to { background-color: var(--green-3); } }"
)


def scan_box(S: Any, *, label: str, hint: str, test_id: str = "scan-box") -> rx.Component:
    """The box for state `S` (a `ScanBox` with a `scan` handler); `label` names it for
    screen readers, `hint` is its placeholder."""
    said = rx.box(
        rx.cond(
            S.scan_ok,
            notice(S.scan_said, tone="green", icon="circle-check", role="status",
                   test_id="scan-confirmation", style={"animation": "rr-scan-flash 1.2s ease-out"}),
            notice(S.scan_said, tone="amber", icon="scan-barcode", role="alert",
                   test_id="scan-warning"),
        ),
        key=S.scan_seq.to_string(), width="100%",
    )
    return column(
        rx.el.style(_FLASH),
        rx.form(
            inline(
                rx.icon("scan-barcode", size=22, color=rx.color("gray", 11), flex_shrink="0"),
                rx.input(
                    id=SCAN_INPUT, name="code", auto_focus=True, auto_complete="off",
                    spell_check=False, placeholder=hint, aria_label=label, size="3",
                    width="100%",
                ),
                width="100%", gap="3",
            ),
            on_submit=S.scan, reset_on_submit=True, width="100%",
        ),
        said,
        gap="2", data_testid=test_id,
    )


def scan_lit(S: Any, key: rx.Var) -> dict[str, Any]:
    """A row's props that light it while it is the last one a scan counted."""
    return {
        "background_color": rx.cond(S.scan_hit == key, rx.color("green", 3), None),
        "data_scanned": rx.cond(S.scan_hit == key, "1", None),
    }
