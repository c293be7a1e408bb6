"""Rackroom's domain: tables and the operations that keep their rules.

Importing this package registers every table on `SQLModel.metadata` (Alembic's
target). Nothing here imports Reflex.
"""

from models.catalog import Brand, Product, SkuAlias, Variant, Warehouse
from models.imports import ColumnMapping, ImportRun
from models.polls import Poll, PollOption, PollRateLimit, PollSignatureUse, PollVote
from models.reservations import Reservation, SaleLine
from models.snapshots import StockSnapshot
from models.stock import LedgerEntry, StockBalance
from models.users import ApiKey, LoginSession, User

__all__ = [
    "ApiKey",
    "Brand",
    "ColumnMapping",
    "ImportRun",
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
    "User",
    "Variant",
    "Warehouse",
]
