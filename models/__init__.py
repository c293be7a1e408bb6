"""Rackroom's domain: tables and the operations that keep their rules.

Importing this package registers every table on `SQLModel.metadata` (Alembic's
target). Nothing here imports Reflex.
"""

from models.alerts import Alert, AlertRule
from models.api_keys import ApiToken
from models.audit import AuditEntry
from models.catalog import Brand, Product, SkuAlias, Variant, Warehouse
from models.channels import Channel, ChannelWarehouse
from models.cycle_counts import CountItem, CountLine, CountPlan, CountSheet, VarianceDecision
from models.events import Event, EventCursor
from models.imports import ColumnMapping, ImportAttributeChange, ImportRun
from models.polls import Poll, PollOption, PollRateLimit, PollSignatureUse, PollVote
from models.rate_limits import ApiRateBucket
from models.reservations import Reservation, SaleLine
from models.scheduling import JobRun, SchedulerLeader, scheduler_jobs
from models.signin import LoginThrottle
from models.snapshots import StockSnapshot
from models.stock import LedgerEntry, StockBalance
from models.stock_totals import VariantStock
from models.syncs import Connector, SyncItemState, SyncRun
from models.transfers import Transfer, TransferEvent, TransferLine
from models.users import ApiKey, LoginSession, User
from models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "Alert",
    "AlertRule",
    "ApiKey",
    "ApiRateBucket",
    "ApiToken",
    "AuditEntry",
    "Brand",
    "Channel",
    "ChannelWarehouse",
    "ColumnMapping",
    "Connector",
    "CountItem",
    "CountLine",
    "CountPlan",
    "CountSheet",
    "Event",
    "EventCursor",
    "ImportAttributeChange",
    "ImportRun",
    "JobRun",
    "LedgerEntry",
    "LoginSession",
    "LoginThrottle",
    "Poll",
    "PollOption",
    "PollRateLimit",
    "PollSignatureUse",
    "PollVote",
    "Product",
    "Reservation",
    "SaleLine",
    "SchedulerLeader",
    "SkuAlias",
    "StockBalance",
    "StockSnapshot",
    "SyncItemState",
    "SyncRun",
    "Transfer",
    "TransferEvent",
    "TransferLine",
    "User",
    "VarianceDecision",
    "Variant",
    "VariantStock",
    "Warehouse",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "scheduler_jobs",
]
