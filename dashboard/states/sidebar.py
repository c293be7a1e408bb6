"""The sidebar's live counts: open alerts and transfers waiting for approval.

Two cheap count queries, refreshed each time a page mounts the sidebar. Staff only:
for anyone else the counts stay at zero (and the sections are hidden anyway).
"""

from __future__ import annotations

import logging

import reflex as rx
from sqlmodel import Session

from dashboard.states.auth import RoleGuard
from dashboard.states.listing import db_read
from models.alerts import open_alert_count
from models.transfers import TransferStatus, transfer_counts

log = logging.getLogger(__name__)


def read_counts(session: Session) -> tuple[int, int]:
    """(open alerts, transfers waiting for approval)."""
    waiting = transfer_counts(session).by_status.get(TransferStatus.REQUESTED.value, 0)
    return open_alert_count(session), waiting


class SidebarState(RoleGuard, rx.State):
    open_alerts: int = 0
    waiting_transfers: int = 0

    @rx.var
    def open_alerts_label(self) -> str:
        return f"{self.open_alerts:,}" if self.open_alerts < 1000 else "999+"

    @rx.event
    async def refresh(self):
        access = await self.require("alerts.read")
        if not access:
            self.open_alerts = self.waiting_transfers = 0
            return None  # quietly: the sidebar is not an action the user took
        try:
            self.open_alerts, self.waiting_transfers = await db_read(read_counts)
        except Exception:
            log.exception("sidebar: counting failed")
        return None
