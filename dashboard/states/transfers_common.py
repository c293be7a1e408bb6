"""What every transfers screen shares: status words and colours, and the pickers' choices.

The screens: the list (`states.transfers`), the new-transfer dialog
(`states.transfers_new`), one transfer (`states.transfers_detail`), its pick list
(`states.transfers_pick`) and suggested moves (`states.transfers_suggest`).
Merchandisers create, submit, ship and receive; managers and admins approve; vendors
get nothing (`models.policy`, `transfers.*`).
"""

from __future__ import annotations

from urllib.parse import urlencode

from sqlalchemy import select
from sqlmodel import Session

from dashboard import routes
from models.catalog import Brand, Warehouse
from models.transfers import TransferStatus

ANY_STATUS = "all"
STATUS_LABELS: dict[str, str] = {
    TransferStatus.DRAFT.value: "Draft",
    TransferStatus.REQUESTED.value: "Waiting for approval",
    TransferStatus.APPROVED.value: "Approved",
    TransferStatus.IN_TRANSIT.value: "In transit",
    TransferStatus.RECEIVED.value: "Received",
    TransferStatus.CANCELLED.value: "Cancelled",
}
STATUS_COLORS: dict[str, str] = {
    "draft": "gray",
    "requested": "amber",
    "approved": "blue",
    "in_transit": "indigo",
    "received": "green",
    "cancelled": "red",
}


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def status_color(status: str) -> str:
    return STATUS_COLORS.get(status, "gray")


def list_href(status: str = ANY_STATUS) -> str:
    """The list filtered to `status` (the filter lives in the URL)."""
    if status == ANY_STATUS:
        return routes.TRANSFERS
    return f"{routes.TRANSFERS}?{urlencode({'status': status})}"


def detail_href(transfer_id: int) -> str:
    return f"{routes.TRANSFER_DETAIL}?id={transfer_id}"


def warehouse_choices(session: Session) -> list[tuple[str, str]]:
    """(id, "CODE · name") of active warehouses, by code."""
    rows = session.execute(
        select(Warehouse.id, Warehouse.code, Warehouse.name)
        .where(Warehouse.is_active.is_(True))
        .order_by(Warehouse.code)
    )
    return [(str(i), f"{code} · {name}") for i, code, name in rows]


def brand_options(session: Session) -> list[tuple[str, str]]:
    """(code, "Name (CODE)") of every brand, by name."""
    return [
        (code, f"{name} ({code})")
        for code, name in session.execute(select(Brand.code, Brand.name).order_by(Brand.name))
    ]
