"""Rackroom's domain: tables and the operations that keep their rules.

Importing this package registers every table on `SQLModel.metadata` (Alembic's
target). Nothing here imports Reflex.
"""

from models.alerts import Alert, AlertRule
from models.catalog import Brand, Product, SkuAlias, Variant, Warehouse
from models.imports import ColumnMapping, ImportRun
from models.polls import Poll, PollOption, PollRateLimit, PollSignatureUse, PollVote
from models.reservations import Reservation, SaleLine
from models.scheduling import JobRun, scheduler_jobs
from models.snapshots import StockSnapshot
from models.stock import LedgerEntry, StockBalance
from models.syncs import Connector, SyncItemState, SyncRun
from models.transfers import Transfer, TransferEvent, TransferLine
from models.users import ApiKey, LoginSession, User

__all__ = [
    "Alert",
    "AlertRule",
    "ApiKey",
    "Brand",
    "ColumnMapping",
    "Connector",
    "ImportRun",
    "JobRun",
    "LedgerEntry",
    "LoginSession",
    "Poll",
    "PollOption",
    "PollRateLimit",
    "PollSignatureUse",
    "PollVote",
    "Product",
    "Reservation",
    "SaleLine",
    "SkuAlias",
    "StockBalance",
    "StockSnapshot",
    "SyncItemState",
    "SyncRun",
    "Transfer",
    "TransferEvent",
    "TransferLine",
    "User",
    "Variant",
    "Warehouse",
    "scheduler_jobs",
]
