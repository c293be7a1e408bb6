"""Apply a fetched feed to one brand's stock, whole or not at all, by the brand's policy.

Inside the caller's one transaction:

1. Resolve every item: the SKU within the brand (canonical SKU, the brand's aliases,
   barcodes) and the location (the mapping's `locations`, else a warehouse code).
   Another brand's SKU, an unknown location or a (SKU, location) listed twice is an
   issue; SKUs the catalogue does not know are skipped and counted (or issues, with
   mapping ``unknown_skus: error``). Any issue refuses the whole feed (ItemsRefused)
   before anything is written.
2. Read the brand's balances (FOR UPDATE on PostgreSQL, in variant/warehouse order;
   SQLite's write lock is already held), the last readings (`SyncItemState`) and the
   time of the last platform change to on hand per balance (ledger rows not from a
   sync).
3. Decide each item that differs from on hand. A *conflict* is a balance the platform
   changed after the source's timestamp (first reading) or after the last reading we
   recorded: both sides moved. `newest` applies an item only if its source time is
   newer than both the platform's change and the last reading (older readings are
   *stale*); `platform` applies it unless a platform change came after its source
   time. Every conflict records which way it went. A quantity below what is reserved
   for orders sets on hand to the reserved units (never oversell) and is counted.
4. Write all changes with `models.stock.set_count_rows` (one guarded
   compare-and-swap and one ledger row per balance, reason "sync", reference
   "sync-run:<id>") and the new readings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.dialects import sqlite
from sqlmodel import Session

from jobs.syncs.feed import FeedItem, Issue
from models.base import UTCDateTime
from models.catalog import Brand, SkuAlias, Variant, Warehouse
from models.stock import CountRow, LedgerEntry, LedgerReason, StockBalance, set_count_rows
from models.syncs import ConflictPolicy, SyncItemState, brand_item_states, fast_rows

SAMPLES = 20
_CHUNK = 500


class ItemsRefused(Exception):
    """The feed has items that cannot be applied; nothing was written."""

    def __init__(self, issues: list[Issue], count: int) -> None:
        super().__init__(f"{count} item(s) cannot be applied")
        self.issues = issues
        self.count = count


@dataclass(slots=True)
class ApplyResult:
    changed: int = 0
    unchanged: int = 0
    skipped: int = 0
    conflicts_source: int = 0
    conflicts_platform: int = 0
    stale: int = 0
    clamped: int = 0
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    skipped_samples: list[dict[str, Any]] = field(default_factory=list)

    def note(
        self,
        item: FeedItem,
        platform: int,
        source_at: datetime,
        platform_at: datetime | None,
        **more: Any,
    ) -> None:
        """Keep a conflict sample (built only while fewer than SAMPLES are kept)."""
        if len(self.conflicts) < SAMPLES:
            self.conflicts.append(
                {
                    "sku": item.sku,
                    "location": item.location,
                    "platform": platform,
                    "source": item.quantity,
                    "source_at": _iso(source_at),
                    "platform_at": _iso(platform_at),
                    **more,
                }
            )


@dataclass(slots=True)
class _Resolved:
    items: dict[tuple[int, int], FeedItem] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    issue_count: int = 0

    def add(self, issue: Issue) -> None:
        self.issue_count += 1
        if len(self.issues) < 50:
            self.issues.append(issue)


def resolve_items(
    session: Session,
    *,
    brand_id: int,
    brand_code: str,
    mapping: dict[str, Any],
    items: list[FeedItem],
    result: ApplyResult,
) -> _Resolved:
    """Each item's (variant id, warehouse id), or issues naming what is wrong."""
    resolved = _Resolved()
    warehouses = {
        code.upper(): wid for wid, code in session.execute(select(Warehouse.id, Warehouse.code))
    }
    aliases = {
        str(name).strip().upper(): str(code).strip().upper()
        for name, code in (mapping.get("locations") or {}).items()
    }
    skus = _brand_skus(session, brand_id)
    unknown: dict[str, list[FeedItem]] = {}
    location_ids: dict[str, int | None] = {}
    for item in items:
        location_id = location_ids.get(item.location, -1)
        if location_id == -1:
            key = item.location.upper()
            location_id = warehouses.get(aliases.get(key, key))
            location_ids[item.location] = location_id
        if location_id is None:
            mapped = aliases.get(item.location.upper())
            reason = (
                f"unknown location (mapped to {mapped}, which is not a warehouse)"
                if mapped
                else "unknown location (not a warehouse code, and not in the mapping's locations)"
            )
            resolved.add(_issue(item, reason, "location", item.location))
            continue
        variant_id = skus.get(item.sku)
        if variant_id is None:
            unknown.setdefault(item.sku, []).append(item)
            continue
        key = (variant_id, location_id)
        first = resolved.items.get(key)
        if first is not None:
            resolved.add(
                _issue(
                    item,
                    f"listed twice for this location (first on page {first.page}, "
                    f"item {first.index})",
                    "sku",
                    item.sku,
                )
            )
            continue
        resolved.items[key] = item
    if unknown:
        foreign = _foreign_brands(session, brand_id, list(unknown))
        strict = mapping.get("unknown_skus") == "error"
        for sku, listed in unknown.items():
            owner = foreign.get(sku)
            for item in listed:
                if owner:
                    resolved.add(
                        _issue(item, f"SKU belongs to brand {owner}, not {brand_code}", "sku", sku)
                    )
                elif strict:
                    resolved.add(_issue(item, "unknown SKU (not in the catalogue)", "sku", sku))
                else:
                    result.skipped += 1
                    if len(result.skipped_samples) < SAMPLES:
                        result.skipped_samples.append(
                            _issue(item, "unknown SKU: skipped", "sku", sku).to_dict()
                        )
    return resolved


def _issue(item: FeedItem, reason: str, field_name: str, value: str) -> Issue:
    return Issue(item.page, item.index, reason, field_name, value, item.sku, item.location)


def _brand_skus(session: Session, brand_id: int) -> dict[str, int]:
    """Every code that names one of the brand's variants: barcodes, aliases, then SKUs win."""
    variant = Variant.__table__
    alias = SkuAlias.__table__
    rows = fast_rows(
        session,
        select(variant.c.id, variant.c.sku, variant.c.barcode).where(
            variant.c.brand_id == brand_id
        ),
    )
    codes: dict[str, int] = {barcode: vid for vid, _sku, barcode in rows if barcode}
    codes.update(
        fast_rows(
            session, select(alias.c.code, alias.c.variant_id).where(alias.c.brand_id == brand_id)
        )
    )
    codes.update((sku, vid) for vid, sku, _barcode in rows)
    return codes


def _foreign_brands(session: Session, brand_id: int, skus: list[str]) -> dict[str, str]:
    """SKU → the other brand whose SKU or alias it is."""
    owners: dict[str, str] = {}
    for start in range(0, len(skus), _CHUNK):
        chunk = skus[start : start + _CHUNK]
        for sku, code in session.execute(
            select(Variant.sku, Brand.code)
            .join(Brand, Brand.id == Variant.brand_id)
            .where(Variant.sku.in_(chunk), Variant.brand_id != brand_id)
        ):
            owners[sku] = code
        for sku, code in session.execute(
            select(SkuAlias.code, Brand.code)
            .join(Brand, Brand.id == SkuAlias.brand_id)
            .where(SkuAlias.code.in_(chunk), SkuAlias.brand_id != brand_id)
        ):
            owners.setdefault(sku, code)
    return owners


def _balances(session: Session, brand_id: int) -> dict[tuple[int, int], tuple[int, int]]:
    """(variant, warehouse) → (on hand, reserved) for the brand, locked on PostgreSQL."""
    balance = StockBalance.__table__
    variant = Variant.__table__
    query = (
        select(balance.c.variant_id, balance.c.warehouse_id, balance.c.on_hand, balance.c.reserved)
        .join(variant, variant.c.id == balance.c.variant_id)
        .where(variant.c.brand_id == brand_id)
        .order_by(balance.c.variant_id, balance.c.warehouse_id)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=balance)
    return {(v, w): (on_hand, reserved) for v, w, on_hand, reserved in fast_rows(session, query)}


# PostgreSQL: for each balance that differs, its latest change to on hand not made by
# a sync, found by walking the (variant_id, warehouse_id, id) index backwards — cost
# per differing balance, however long the ledger has grown. Only changes after `since`
# come back (a first sync, or one after no platform change, reads no rows at all).
_PLATFORM_CHANGES_PG = text(
    "SELECT p.variant_id, p.warehouse_id, c.created_at "
    "FROM unnest(CAST(:variants AS integer[]), CAST(:warehouses AS integer[])) "
    "AS p(variant_id, warehouse_id) CROSS JOIN LATERAL (SELECT l.created_at "
    "FROM stock_ledger l WHERE l.variant_id = p.variant_id "
    "AND l.warehouse_id = p.warehouse_id AND l.reason <> 'sync' AND l.on_hand_delta <> 0 "
    "ORDER BY l.id DESC LIMIT 1) AS c WHERE c.created_at > :since"
).bindparams(bindparam("since", type_=UTCDateTime))


def _platform_changes(
    session: Session, brand_id: int, pairs: list[tuple[int, int]], since: datetime
) -> dict[tuple[int, int], datetime]:
    """Latest change to on hand not made by a sync, per balance in `pairs` (after `since`)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        rows = connection.execute(
            _PLATFORM_CHANGES_PG,
            {
                "variants": [v for v, _w in pairs],
                "warehouses": [w for _v, w in pairs],
                "since": since,
            },
        )
        return {(v, w): at for v, w, at in rows}
    # SQLite (one writer, embedded scale): one pass over the brand's recent ledger.
    ledger = LedgerEntry.__table__
    variant = Variant.__table__
    wanted = set(pairs)
    rows = connection.execute(
        select(ledger.c.variant_id, ledger.c.warehouse_id, func.max(ledger.c.created_at))
        .join(variant, variant.c.id == ledger.c.variant_id)
        .where(
            variant.c.brand_id == brand_id,
            ledger.c.created_at > since,
            ledger.c.reason != LedgerReason.SYNC.value,
            ledger.c.on_hand_delta != 0,
        )
        .group_by(ledger.c.variant_id, ledger.c.warehouse_id)
    )
    return {(v, w): at for v, w, at in rows if (v, w) in wanted}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def apply_items(
    session: Session,
    *,
    brand_id: int,
    brand_code: str,
    policy: str,
    mapping: dict[str, Any],
    items: list[FeedItem],
    run_id: int,
    fetched_at: datetime,
    feed_issues: list[Issue] | None = None,
    feed_issue_count: int = 0,
) -> ApplyResult:
    """Resolve, decide and write; raises ItemsRefused (having written nothing) on any issue."""
    result = ApplyResult()
    resolved = resolve_items(
        session,
        brand_id=brand_id,
        brand_code=brand_code,
        mapping=mapping,
        items=items,
        result=result,
    )
    if feed_issue_count or resolved.issue_count:
        issues = sorted(
            [*(feed_issues or []), *resolved.issues], key=lambda i: (i.page, i.item or 0)
        )
        raise ItemsRefused(issues[:50], feed_issue_count + resolved.issue_count)

    balances = _balances(session, brand_id)
    states = brand_item_states(session, brand_id)
    # Which balances differ, and since when a platform change could matter to them.
    candidates = []
    since = None
    for key, item in resolved.items.items():
        on_hand = balances.get(key, (0, 0))[0]
        if item.quantity != on_hand:
            candidates.append(key)
            state = states.get(key)
            ts = item.updated_at or fetched_at
            bound = state[2] if state else ts
            bound = min(bound, ts)
            since = bound if since is None or bound < since else since
    # Only an existing balance can have a platform change: every ledger row comes with
    # its balance, and balances are never deleted. (A first sync probes nothing.)
    probed = [key for key in candidates if key in balances]
    platform = _platform_changes(session, brand_id, probed, since) if probed else {}
    differing = set(candidates)

    newest = policy == ConflictPolicy.NEWEST.value
    targets: list[CountRow] = []
    #: Each source time's text for the ledger notes (a feed repeats its times a lot).
    stamps: dict[datetime, str] = {}
    #: Rows in the order of _READING_COLUMNS.
    readings: list[tuple] = []
    for key, item in resolved.items.items():
        on_hand, reserved = balances.get(key, (0, 0))
        ts = item.updated_at or fetched_at
        state = states.get(key)
        reading = (key[0], key[1], brand_id, item.quantity, ts, fetched_at, run_id)
        if key not in differing:
            result.unchanged += 1
            if item.quantity == 0 and key not in balances:  # "0 here": the level exists
                targets.append((key[0], key[1], 0, 0, None))
            if state is None or ts > state[1] or item.quantity != state[0]:
                readings.append(reading)
            continue
        changed_at = platform.get(key)
        conflict = changed_at is not None and changed_at > (state[2] if state else ts)
        if newest:
            newer_than = [t for t in (changed_at, state[1] if state else None) if t is not None]
            if newer_than and ts <= max(newer_than):
                if (
                    changed_at is not None
                    and changed_at >= ts
                    and (state is None or changed_at >= state[1])
                ):
                    result.conflicts_platform += 1
                    result.note(item, on_hand, ts, changed_at, won="platform")
                else:
                    result.stale += 1
                    last = _iso(state[1])
                    result.note(item, on_hand, ts, changed_at, won="stale", last_source_at=last)
                continue
        elif conflict and changed_at > ts:
            result.conflicts_platform += 1
            result.note(item, on_hand, ts, changed_at, won="platform")
            continue
        if conflict:
            result.conflicts_source += 1
            result.note(item, on_hand, ts, changed_at, won="source")
        new_on_hand = item.quantity
        if new_on_hand < reserved:
            new_on_hand = reserved
            result.clamped += 1
            result.note(item, on_hand, ts, changed_at, won="reserved", reserved=reserved)
        readings.append(reading)
        if new_on_hand == on_hand:
            result.unchanged += 1
            continue
        result.changed += 1
        stamp = stamps.get(ts)
        if stamp is None:
            stamp = stamps[ts] = f"{ts:%Y-%m-%dT%H:%M:%SZ}"
        targets.append(
            (key[0], key[1], on_hand, new_on_hand, f"{brand_code} feed: {item.quantity} at {stamp}")
        )
    set_count_rows(
        session,
        targets,
        reason=LedgerReason.SYNC,
        actor=f"sync:{brand_code}",
        reference=f"sync-run:{run_id}",
    )
    write_readings(session, readings)
    return result


_READING_COLUMNS = (
    "variant_id",
    "warehouse_id",
    "brand_id",
    "source_quantity",
    "source_updated_at",
    "synced_at",
    "run_id",
)
_READING_TYPES = ("int4", "int4", "int4", "int4", "timestamptz", "timestamptz", "int8")
_CREATE_READINGS = text(
    "CREATE TEMPORARY TABLE reading_target (variant_id integer, warehouse_id integer, "
    "brand_id integer, source_quantity integer, source_updated_at timestamptz, "
    "synced_at timestamptz, run_id bigint) ON COMMIT DROP"
)
_UPSERT_READINGS = text(
    "INSERT INTO sync_item_state (variant_id, warehouse_id, brand_id, source_quantity, "
    "source_updated_at, synced_at, run_id) SELECT variant_id, warehouse_id, brand_id, "
    "source_quantity, source_updated_at, synced_at, run_id FROM reading_target "
    "ORDER BY variant_id, warehouse_id "
    "ON CONFLICT (variant_id, warehouse_id) DO UPDATE SET brand_id = excluded.brand_id, "
    "source_quantity = excluded.source_quantity, "
    "source_updated_at = excluded.source_updated_at, synced_at = excluded.synced_at, "
    "run_id = excluded.run_id"
)


def write_readings(session: Session, readings: list[tuple]) -> None:
    """Upsert the last reading per balance: COPY + one upsert on PostgreSQL, batches on SQLite."""
    if not readings:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_CREATE_READINGS)
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(
            f"COPY reading_target ({', '.join(_READING_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            # Binary: formatting and parsing two timestamps as text cost 4x as much.
            copy.set_types(_READING_TYPES)
            for reading in readings:
                copy.write_row(reading)
        connection.execute(_UPSERT_READINGS)
        connection.execute(text("DROP TABLE reading_target"))
        return
    table = SyncItemState.__table__
    statement = sqlite.insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=["variant_id", "warehouse_id"],
        set_={
            name: statement.excluded[name]
            for name in ("brand_id", "source_quantity", "source_updated_at", "synced_at", "run_id")
        },
    )
    rows = [dict(zip(_READING_COLUMNS, reading, strict=True)) for reading in readings]
    for start in range(0, len(rows), 5000):
        connection.execute(statement, rows[start : start + 5000])
