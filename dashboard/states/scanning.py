"""ScanBox: the state half of a barcode-scanner box (`components/scanning.py`).

A scanner types a code and Enter. The page's own `scan` handler (with its permission)
hands the code to `_scan` with what a scan does there; `_scan` keeps the last scan's
confirmation or warning, the row it lit, and gives the focus back to the box so the
scanner can keep going.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import reflex as rx
from reflex.event import EventSpec

from models.errors import DomainError
from models.scanning import clean_code

log = logging.getLogger(__name__)

#: The box's input id (one scan box per page).
SCAN_INPUT = "scan-code"
NOT_SAVED = "That scan could not be saved. Scan it again."

#: What a scan does on a page: code → (the row it lit, the confirmation to show).
Scanned = Callable[[str], Awaitable[tuple[str, str]]]


class ScanBox(rx.State, mixin=True):
    #: The last scan's confirmation (scan_ok) or warning naming the code.
    scan_said: str = ""
    scan_ok: bool = False
    #: The key of the row the last good scan counted ("" when none).
    scan_hit: str = ""
    #: Scans so far: the confirmation is redrawn (and flashes) for each one.
    scan_seq: int = 0

    def _scan_reset(self) -> None:
        self.scan_said, self.scan_ok, self.scan_hit = "", False, ""

    async def _scan(self, form: dict, scanned: Scanned) -> EventSpec | None:
        """Run one scan of `form["code"]`; a domain error is the warning, nothing lit."""
        code = clean_code(form.get("code"))
        if not code:
            return rx.set_focus(SCAN_INPUT)
        try:
            key, said = await scanned(code)
        except DomainError as error:
            self.scan_ok, self.scan_said = False, error.message
        except Exception:
            log.exception("%s: a scan failed", type(self).__name__)
            self.scan_ok, self.scan_said = False, NOT_SAVED
        else:
            self.scan_ok, self.scan_said, self.scan_hit = True, said, key
        self.scan_seq += 1
        return rx.set_focus(SCAN_INPUT)
