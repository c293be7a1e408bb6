"""Transfers: stock moving between warehouses, with a trail of every step.

A transfer goes draft → requested → approved → in_transit → received, or is
cancelled from any state before in_transit. Each transition is one guarded UPDATE of
the transfer's status (so two people cannot both ship or approve it) plus a
`TransferEvent` row (actor, time) that the timeline shows.

Stock moves only at two steps, through `models.stock.change_balance` with ledger rows
referencing ``transfer:<id>``:

- **ship**: the source's on hand goes down (guarded: never below what is reserved, so
  a shipment larger than available is refused and nothing moves) and the
  destination's incoming goes up by the same quantity.
- **receive**: per line, received units move from incoming into on hand; damaged units
  are received into on hand and at once written off with a ``damaged`` ledger row (so
  they are never available, and the trail shows they arrived broken); short units
  leave incoming with a ``lost`` row. Receipts may be partial: the transfer stays in
  transit until every shipped unit is accounted for, or the receipt is completed
  (the remainder then counts as short).

Every operation that changes several balances does it in (variant id, warehouse id)
order inside one savepoint, so two transfers cannot deadlock and a refusal leaves
nothing moved even if the caller goes on to commit.
"""

from models.transfers.movement import receive_transfer, ship_transfer
from models.transfers.reading import (
    PickLine,
    PickList,
    TimelineEntry,
    TransferCounts,
    TransferDetail,
    TransferLineRow,
    TransferRow,
    list_transfers,
    pick_list,
    transfer_counts,
    transfer_detail,
    transfer_marker,
    transfer_timeline,
    units_in_transit,
)
from models.transfers.tables import (
    CANCELLABLE,
    WAITING,
    Transfer,
    TransferAction,
    TransferEvent,
    TransferLine,
    TransferStatus,
)
from models.transfers.workflow import (
    LineInput,
    ReceiptLine,
    TransferPolicy,
    approve_transfer,
    cancel_transfer,
    create_transfer,
    set_lines,
    submit_transfer,
)

__all__ = [
    "CANCELLABLE",
    "WAITING",
    "LineInput",
    "PickLine",
    "PickList",
    "ReceiptLine",
    "TimelineEntry",
    "Transfer",
    "TransferAction",
    "TransferCounts",
    "TransferDetail",
    "TransferEvent",
    "TransferLine",
    "TransferLineRow",
    "TransferPolicy",
    "TransferRow",
    "TransferStatus",
    "approve_transfer",
    "cancel_transfer",
    "create_transfer",
    "list_transfers",
    "pick_list",
    "receive_transfer",
    "set_lines",
    "ship_transfer",
    "submit_transfer",
    "transfer_counts",
    "transfer_detail",
    "transfer_marker",
    "transfer_timeline",
    "units_in_transit",
]
