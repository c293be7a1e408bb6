"""Per-variant stock totals over every warehouse, kept by the database itself.

`variant_stock` holds one row per variant: the sums of its balances' on hand, reserved
and incoming, and available (on hand − reserved, a stored generated column). Triggers
on `stock_balance` (migration 0016) apply every balance change to it in the same
transaction (SQLite: the same statement; PostgreSQL: at commit, in variant order, see
the migration), so no write path can forget it; a trigger on `variant` gives each new
variant its row. Whole-catalogue grid views read it through its indexes instead of
summing every balance. `stock_reconcile.reconcile_totals` checks it.

`run_stock` holds the same totals per style-colour (a size run: product × colour), and
the run's first SKU, so the whole-catalogue size-run view sorts runs by a quantity
through an index instead of summing 200k variants per page (migration 0027). It is kept
from the same commit-time deltas as `variant_stock` (SQLite: from `variant_stock`'s
changes); a trigger on `variant` adds each new run's row and lowers its first SKU.
Variants are never deleted (nor re-keyed: product, colour and SKU are fixed).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Computed,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    false,
)
from sqlmodel import Field, SQLModel


class VariantStock(SQLModel, table=True):
    """One variant's totals over all warehouses. Written only by triggers."""

    __tablename__ = "variant_stock"
    __table_args__ = (
        # Reserved and incoming are not indexed: no sort could use it (migration 0030).
        Index("ix_variant_stock_available", "available", "variant_id"),
        Index("ix_variant_stock_on_hand", "on_hand", "variant_id"),
    )

    variant_id: int = Field(
        sa_column=Column(Integer, ForeignKey("variant.id", ondelete="CASCADE"), primary_key=True)
    )
    on_hand: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    reserved: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    incoming: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    available: int | None = Field(
        default=None,
        sa_column=Column(Integer, Computed("on_hand - reserved", persisted=True)),
    )


class RunStock(SQLModel, table=True):
    """One style-colour's totals over all its variants and warehouses. Written only by
    triggers. `short` is −available: its index walks available from the most down with
    ties by first SKU ascending (as the grid orders them), in plain columns."""

    __tablename__ = "run_stock"
    __table_args__ = (
        Index("ix_run_stock_available", "available", "first_sku"),
        Index("ix_run_stock_short", "short", "first_sku"),
    )

    product_id: int = Field(
        sa_column=Column(Integer, ForeignKey("product.id", ondelete="CASCADE"), primary_key=True)
    )
    colour: str = Field(sa_column=Column(String(60), primary_key=True))
    first_sku: str = Field(max_length=64)
    on_hand: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    reserved: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    incoming: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    available: int | None = Field(
        default=None,
        sa_column=Column(Integer, Computed("on_hand - reserved", persisted=True)),
    )
    short: int | None = Field(
        default=None,
        sa_column=Column(Integer, Computed("reserved - on_hand", persisted=True)),
    )


#: PostgreSQL's commit-time queue (see migration 0016): each statement's deltas per
#: variant, applied to `variant_stock` in variant order when the transaction commits by
#: a deferred trigger on the transaction's first row (its leader). Unlogged there and
#: always empty after a commit; unused on SQLite.
variant_stock_delta = Table(
    "variant_stock_delta",
    SQLModel.metadata,
    Column("tx", BigInteger, nullable=False),
    Column("variant_id", Integer, nullable=False),
    Column("on_hand", Integer, nullable=False),
    Column("reserved", Integer, nullable=False),
    Column("incoming", Integer, nullable=False),
    Column("leader", Boolean, nullable=False, server_default=false()),
    Index("ix_variant_stock_delta_tx", "tx"),
)
