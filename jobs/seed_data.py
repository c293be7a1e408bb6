"""What `rackroom seed` loads: a plausible multi-brand catalogue, stock and a year of sales.

Everything is a pure function of the seed (and the `as_of` date the sales year ends
on). The catalogue (brands, styles, variants, aliases) comes from `jobs.seed_catalog`;
the bulk tables (balances, ledger, sale lines) are built with
polars, whose random numbers come from a splitmix64 hash of (seed, stream, row) written
as polars expressions, so they are vectorised and also stable across polars versions
(polars' own `hash` is only stable within one version).

The loader (`jobs.seed`) receives `TableLoad`s: a table, its columns and a function
that yields DataFrames whose columns are already database-ready (ints and strings;
timestamps pre-formatted for the dialect), so the same rows can go to PostgreSQL COPY,
SQLite executemany or the benchmark's raw baseline.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import polars as pl

from jobs.seed_catalog import Catalog, ScaleSpec

SEED_ACTOR = "system:seed"
OPENING_STOCK_REFERENCE = "seed:opening-stock"
#: The share of style-colours, the slowest sellers, whose stock may be an old delivery.
SLOW_SHARE = 0.06
#: Deliveries are booked in at 10:00 UTC.
RECEIPT_HOUR = 10

#: Timestamp text per dialect: PostgreSQL reads ISO with an offset; SQLite stores the
#: naive-UTC text SQLAlchemy's DateTime writes (so string comparisons stay correct).
TIMESTAMP_FORMATS = {
    "postgresql": "%Y-%m-%d %H:%M:%S%.f+00",
    "sqlite": "%Y-%m-%d %H:%M:%S%.6f",
}

# --- vectorised random numbers -------------------------------------------------------------

_U64 = pl.UInt64
_GOLDEN = 0x9E3779B97F4A7C15


def _lit(value: int) -> pl.Expr:
    return pl.lit(value, dtype=_U64)


def _mix(z: pl.Expr) -> pl.Expr:
    """splitmix64's finaliser on a UInt64 expression (polars integer ops wrap)."""
    z = (z ^ (z // _lit(1 << 30))) * _lit(0xBF58476D1CE4E5B9)
    z = (z ^ (z // _lit(1 << 27))) * _lit(0x94D049BB133111EB)
    return z ^ (z // _lit(1 << 31))


def random_bits(key: pl.Expr, seed: int, stream: int) -> pl.Expr:
    """64 well-mixed bits for each value of `key`, independent per (seed, stream)."""
    state = (seed * 1_000_003 + stream * 7_919 + 1) * _GOLDEN % (1 << 64)
    return _mix(key.cast(_U64) * _lit(_GOLDEN) + _lit(state))


def uniform_pair(key: pl.Expr, seed: int, stream: int) -> tuple[pl.Expr, pl.Expr]:
    """Two independent uniforms in [0, 1) from one hash (32 bits each)."""
    bits = random_bits(key, seed, stream)
    scale = 2.0**-32
    high = (bits // _lit(1 << 32)).cast(pl.Float64) * scale
    low = (bits % _lit(1 << 32)).cast(pl.Float64) * scale
    return high, low


def _pick(cumulative: pl.Series, u: pl.Series) -> pl.Series:
    """Inverse-CDF sampling: indexes into the weights behind `cumulative`."""
    total = cumulative[-1]
    picked = cumulative.search_sorted(u * total, side="right")
    return picked.clip(0, len(cumulative) - 1)


# --- bulk tables ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TableLoad:
    table: str
    columns: tuple[str, ...]
    rows: int
    chunks: Callable[[], Iterator[pl.DataFrame]]


@dataclass(frozen=True, slots=True)
class Ids:
    """Database ids the bulk rows refer to, and where new ids start."""

    brands: list[int]
    warehouses: list[int]
    product_offset: int = 0
    variant_offset: int = 0
    alias_offset: int = 0
    ledger_offset: int = 0
    sale_offset: int = 0


_WINTER = (1.35, 1.1, 0.8, 0.5, 0.3, 0.2, 0.2, 0.4, 0.9, 1.3, 1.6, 1.75)
_SUMMER = (0.35, 0.45, 0.8, 1.1, 1.5, 1.75, 1.6, 1.2, 0.7, 0.4, 0.3, 0.35)
#: Monday .. Sunday.
_WEEKDAY = (0.86, 0.8, 0.84, 0.92, 1.08, 1.4, 1.1)
WEB_SHARE = 0.68


def day_weight(day: date) -> float:
    """Orders on `day` relative to an average day: week shape, year shape, events."""
    doy = day.timetuple().tm_yday
    year = 1.0 + 0.18 * math.cos(2 * math.pi * (doy - 350) / 365)  # winter-heavy
    if (day.month == 11 and day.day >= 22) or (day.month == 12 and day.day <= 20):
        year *= 1.65  # Black Friday to Christmas
    elif (day.month == 12 and day.day >= 27) or (day.month == 1 and day.day <= 15):
        year *= 1.35  # winter sale
    elif day.month == 7 and day.day <= 20:
        year *= 1.25  # summer sale
    elif day.month == 2:
        year *= 0.85
    return _WEEKDAY[day.weekday()] * year


def price_factor(day: date) -> float:
    if (day.month == 12 and day.day >= 27) or (day.month == 1 and day.day <= 15):
        return 0.7
    if day.month == 7 and day.day <= 20:
        return 0.75
    if day.month == 11 and 22 <= day.day <= 30:
        return 0.8
    return 1.0


class SeedData:
    """The bulk tables for one catalogue, seed and sales year."""

    def __init__(
        self,
        spec: ScaleSpec,
        seed: int,
        catalog: Catalog,
        ids: Ids,
        *,
        as_of: date,
        timestamp_format: str,
    ) -> None:
        self.spec = spec
        self.seed = seed
        self.catalog = catalog
        self.ids = ids
        self.as_of = as_of
        self.ts_format = timestamp_format
        self.opening_at = datetime.combine(as_of, datetime.min.time(), UTC)
        self._balances: pl.DataFrame | None = None

    # -- catalogue ---------------------------------------------------------------------------

    def tables(self) -> list[TableLoad]:
        c = self.catalog
        balances = self.balances()
        stocked = int((balances["on_hand"] > 0).sum())
        return [
            TableLoad("product", ("id", "brand_id", "style_code", "name", "category", "attributes",
                                  "created_at"), len(c.p_brand), self._products),
            TableLoad("variant", ("id", "product_id", "brand_id", "sku", "colour", "size",
                                  "size_system", "size_rank", "barcode", "price_cents",
                                  "created_at"), len(c.v_sku), self._variants),
            TableLoad("sku_alias", ("id", "variant_id", "brand_id", "kind", "code"),
                      len(c.a_code), self._aliases),
            TableLoad("stock_balance", ("variant_id", "warehouse_id", "on_hand", "reserved",
                                        "incoming", "updated_at"), balances.height,
                      self._balance_chunks),
            TableLoad("stock_ledger", ("id", "variant_id", "warehouse_id", "on_hand_delta",
                                       "reserved_delta", "incoming_delta", "reason", "reference",
                                       "actor", "created_at"), stocked, self._ledger_chunks),
            TableLoad("sale_line", ("id", "variant_id", "warehouse_id", "qty", "unit_price_cents",
                                    "channel", "order_ref", "sold_at"), self.sale_line_count(),
                      self._sale_chunks),
        ]

    def _timestamp(self, moment: datetime) -> str:
        return pl.select(pl.lit(moment).dt.strftime(self.ts_format)).item()

    def _products(self) -> Iterator[pl.DataFrame]:
        c, ids = self.catalog, self.ids
        created = self._timestamp(self.opening_at - timedelta(days=400))
        n = len(c.p_brand)
        brand_ids = pl.Series(ids.brands, dtype=pl.Int64)
        yield pl.DataFrame({
            "id": pl.int_range(ids.product_offset + 1, ids.product_offset + n + 1, eager=True),
            "brand_id": brand_ids.gather(c.p_brand),
            "style_code": c.p_style,
            "name": c.p_name,
            "category": c.p_category,
            "attributes": c.p_attributes,
            "created_at": [created] * n,
        })

    def _variants(self) -> Iterator[pl.DataFrame]:
        c, ids = self.catalog, self.ids
        created = self._timestamp(self.opening_at - timedelta(days=400))
        n = len(c.v_sku)
        step = self.spec.chunk_rows
        brand_ids = pl.Series(ids.brands, dtype=pl.Int64)
        frame = pl.DataFrame({
            "id": pl.int_range(ids.variant_offset + 1, ids.variant_offset + n + 1, eager=True),
            "product_id": pl.Series(c.v_product, dtype=pl.Int64) + ids.product_offset + 1,
            "brand_id": brand_ids.gather(c.v_brand),
            "sku": c.v_sku,
            "colour": c.v_colour,
            "size": c.v_size,
            "size_system": c.v_system,
            "size_rank": c.v_rank,
            "barcode": c.v_barcode,
            "price_cents": c.v_price,
            "created_at": [created] * n,
        })
        for start in range(0, n, step):
            yield frame.slice(start, step)

    def _aliases(self) -> Iterator[pl.DataFrame]:
        c, ids = self.catalog, self.ids
        n = len(c.a_code)
        if not n:
            return
        yield pl.DataFrame({
            "id": pl.int_range(ids.alias_offset + 1, ids.alias_offset + n + 1, eager=True),
            "variant_id": pl.Series(c.a_variant, dtype=pl.Int64) + ids.variant_offset + 1,
            "brand_id": pl.Series(self.ids.brands, dtype=pl.Int64).gather(c.a_brand),
            "kind": c.a_kind,
            "code": c.a_code,
        })

    # -- stock ---------------------------------------------------------------------------------

    def balances(self) -> pl.DataFrame:
        """One balance per variant and warehouse (zeros included), with its on hand.

        Depth follows the size curve and the style's popularity; about 6 % are out of
        stock, about 7 % of (style-colour, warehouse) runs are broken (core sizes at
        zero while the other sizes remain), and stores carry about 60 % of the styles.
        """
        if self._balances is not None:
            return self._balances
        c, seed = self.catalog, self.seed
        variants = pl.DataFrame({
            "v": pl.int_range(0, len(c.v_sku), eager=True),
            "product": c.v_product,
            "style_colour": c.v_style_colour,
            "size_weight": c.v_size_weight,
            "core": c.v_core,
            "colour_rank": c.v_colour_rank,
        }).with_columns(
            popularity=pl.Series(c.p_popularity).gather(pl.Series(c.v_product)),
        )
        warehouses = pl.DataFrame({
            "w": list(range(len(self.spec.warehouses))),
            "depth": [w.depth for w in self.spec.warehouses],
            "store": [w.kind == "store" for w in self.spec.warehouses],
            "warehouse_id": self.ids.warehouses,
        })
        frame = variants.join(warehouses, how="cross")
        noise, stockout = uniform_pair(pl.col("v") * 64 + pl.col("w"), seed, 1)
        broken, _ = uniform_pair(pl.col("style_colour") * 64 + pl.col("w"), seed, 2)
        store_pick, _ = uniform_pair(pl.col("product") * 64 + pl.col("w"), seed, 3)
        colour_factor = 1.0 / (1.0 + 0.35 * pl.col("colour_rank"))
        units_per_run = 40.0 + 80.0 * pl.col("popularity").sqrt()
        expected = units_per_run * pl.col("size_weight") * pl.col("depth") * colour_factor
        on_hand = (expected * (0.35 + 1.3 * noise) + 0.6).floor().cast(pl.Int64)
        is_broken = broken < 0.07
        on_hand = (
            pl.when(pl.col("store") & (store_pick >= 0.6)).then(0)
            .when(is_broken & pl.col("core")).then(0)
            .when(is_broken).then(pl.max_horizontal(on_hand, 1))
            .when(stockout < 0.06).then(0)
            .otherwise(on_hand)
        )
        received = self.receipt_days().select(
            "style_colour",
            received_at=pl.lit(self.opening_at)
            - pl.duration(days=pl.col("days_ago"))
            + pl.duration(hours=RECEIPT_HOUR),
        )
        self._balances = (
            frame.join(received, on="style_colour", how="left")
            .select(
                variant_id=pl.col("v") + self.ids.variant_offset + 1,
                warehouse_id=pl.col("warehouse_id"),
                on_hand=on_hand,
                received_at=pl.col("received_at"),
            )
            .sort("variant_id", "warehouse_id")
        )
        return self._balances

    def receipt_days(self) -> pl.DataFrame:
        """Days before `as_of` each style-colour's stock was received (columns
        style_colour, days_ago), so that the markdown suggestions have ages to go on.

        Most lines were delivered in the last few weeks (3–52 days ago: no markdown,
        whatever they sell). The slowest `SLOW_SHARE` by expected sales (popularity and
        colour, as the sales are drawn) mostly sit on an older delivery: a quarter of
        them fresh too, the rest 60–89, 90–119 or 120–199 days old, the ages of the
        20 / 30 / 50 % rules of `jobs.analytics.markdowns`.
        """
        c = self.catalog
        runs = (
            pl.DataFrame({
                "style_colour": c.v_style_colour,
                "product": c.v_product,
                "colour_rank": c.v_colour_rank,
            })
            .unique("style_colour", keep="first")
            .sort("style_colour")
        )
        popularity = pl.Series(c.p_popularity).gather(runs["product"])
        runs = runs.with_columns(sells=popularity / (1.0 + 0.5 * pl.col("colour_rank")))
        which, when = uniform_pair(pl.col("style_colour"), self.seed, 4)
        slow = pl.col("sells").rank("ordinal") <= max(1, round(runs.height * SLOW_SHARE))
        days = (
            pl.when(slow & (which >= 0.8)).then(120 + when * 80)
            .when(slow & (which >= 0.55)).then(90 + when * 30)
            .when(slow & (which >= 0.25)).then(60 + when * 30)
            .otherwise(3 + when * 50)
        )
        return runs.select("style_colour", days_ago=days.floor().cast(pl.Int64))

    def _received_at(self) -> pl.Expr:
        return pl.col("received_at").dt.strftime(self.ts_format)

    def _balance_chunks(self) -> Iterator[pl.DataFrame]:
        frame = self.balances().select(
            "variant_id", "warehouse_id", "on_hand",
            reserved=pl.lit(0), incoming=pl.lit(0), updated_at=self._received_at(),
        )
        for start in range(0, frame.height, self.spec.chunk_rows):
            yield frame.slice(start, self.spec.chunk_rows)

    def _ledger_chunks(self) -> Iterator[pl.DataFrame]:
        """One "receipt" per stocked balance, so every balance equals its ledger; dated
        when its style-colour was received (`receipt_days`)."""
        stocked = self.balances().filter(pl.col("on_hand") > 0)
        frame = stocked.select(
            id=pl.int_range(1, stocked.height + 1) + self.ids.ledger_offset,
            variant_id="variant_id",
            warehouse_id="warehouse_id",
            on_hand_delta="on_hand",
            reserved_delta=pl.lit(0),
            incoming_delta=pl.lit(0),
            reason=pl.lit("receipt"),
            reference=pl.lit(OPENING_STOCK_REFERENCE),
            actor=pl.lit(SEED_ACTOR),
            created_at=self._received_at(),
        )
        for start in range(0, frame.height, self.spec.chunk_rows):
            yield frame.slice(start, self.spec.chunk_rows)

    # -- sales ---------------------------------------------------------------------------------

    def _days(self) -> list[date]:
        return [self.as_of - timedelta(days=d) for d in range(365, 0, -1)]

    def _orders_per_day(self) -> list[int]:
        """Orders per day so that the year holds about `spec.sale_lines` lines."""
        days = self._days()
        weights = [day_weight(d) for d in days]
        orders = self.spec.sale_lines / _LINES_PER_ORDER
        scale = orders / sum(weights)
        # Largest-remainder rounding keeps the total exact and deterministic.
        raw = [w * scale for w in weights]
        counts = [int(x) for x in raw]
        short = round(orders) - sum(counts)
        for i in sorted(range(len(raw)), key=lambda i: raw[i] - counts[i], reverse=True)[:short]:
            counts[i] += 1
        return counts

    def sale_line_count(self) -> int:
        """Exact number of sale lines (lines per order are random but seeded)."""
        if not hasattr(self, "_sale_count"):
            self._sale_count = sum(f.height for f in self._sale_frames(count_only=True))
        return self._sale_count

    def _sale_chunks(self) -> Iterator[pl.DataFrame]:
        yield from self._sale_frames(count_only=False)

    def _sale_frames(self, *, count_only: bool) -> Iterator[pl.DataFrame]:
        """Sale lines month by month, in time order, ids ascending with time."""
        c, seed, spec = self.catalog, self.seed, self.spec
        days = self._days()
        counts = self._orders_per_day()
        start_us = int(datetime.combine(days[0], datetime.min.time(), UTC).timestamp() * 1e6)

        web = [i for i, w in enumerate(spec.warehouses) if w.kind == "warehouse"]
        stores = [i for i, w in enumerate(spec.warehouses) if w.kind == "store"] or web
        web_cdf = pl.Series(_cumulative([spec.warehouses[i].depth for i in web]))
        store_cdf = pl.Series(_cumulative([1.0 for _ in stores]))
        warehouse_ids = self.ids.warehouses
        web_ids = pl.Series([warehouse_ids[i] for i in web], dtype=pl.Int64)
        store_ids = pl.Series([warehouse_ids[i] for i in stores], dtype=pl.Int64)

        base = pl.DataFrame({
            "size_weight": c.v_size_weight,
            "colour_rank": c.v_colour_rank,
            "product": c.v_product,
        }).select(
            weight=pl.col("size_weight")
            * pl.Series(c.p_popularity).gather(pl.Series(c.v_product))
            / (1.0 + 0.5 * pl.col("colour_rank")),
            season=pl.Series(c.p_season).gather(pl.Series(c.v_product)),
        )
        prices = pl.Series(c.v_price, dtype=pl.Int64)
        day_price = pl.Series([price_factor(d) for d in days])
        month_cdfs: dict[int, pl.Series] = {}

        order_offset = 0
        line_offset = 0
        sale_id = self.ids.sale_offset
        for month_days in _group_by_month(list(range(len(days))), days):
            month = days[month_days[0]].month
            orders = pl.DataFrame({
                "day": month_days,
                "n": [counts[d] for d in month_days],
            }).select(pl.col("day").repeat_by("n").explode()).drop_nulls()
            n_orders = orders.height
            orders = orders.with_columns(order=pl.int_range(order_offset, order_offset + n_orders))
            order_offset += n_orders
            u_channel, u_time = uniform_pair(pl.col("order"), seed, 10)
            u_warehouse, u_lines = uniform_pair(pl.col("order"), seed, 11)
            orders = orders.with_columns(
                web=u_channel < WEB_SHARE,
                u_time=u_time,
                u_warehouse=u_warehouse,
                lines=1 + (u_lines < 0.3).cast(pl.Int64) + (u_lines < 0.1).cast(pl.Int64),
            )
            lines = orders.with_columns(line=pl.int_ranges(0, "lines")).explode("line")
            n_lines = lines.height
            if count_only:
                line_offset += n_lines
                yield lines.select("line")
                continue
            lines = lines.with_columns(key=pl.int_range(line_offset, line_offset + n_lines))
            line_offset += n_lines
            u_variant, u_qty = uniform_pair(pl.col("key"), seed, 12)
            lines = lines.with_columns(u_variant=u_variant, u_qty=u_qty)

            if month not in month_cdfs:
                factor = (
                    pl.when(pl.col("season") == "winter").then(_WINTER[month - 1])
                    .when(pl.col("season") == "summer").then(_SUMMER[month - 1])
                    .otherwise(1.0)
                )
                month_cdfs[month] = base.select((pl.col("weight") * factor).cum_sum()).to_series()
            variant = _pick(month_cdfs[month], lines["u_variant"])
            web_pick = web_ids.gather(_pick(web_cdf, lines["u_warehouse"]))
            store_pick = store_ids.gather(_pick(store_cdf, lines["u_warehouse"]))
            lines = lines.with_columns(
                variant=variant,
                warehouse_id=pl.when(pl.col("web")).then(web_pick).otherwise(store_pick),
                price=prices.gather(variant),
                factor=day_price.gather(lines["day"]),
            )
            # Web orders come around the clock; store sales between 09:00 and 19:00 UTC.
            seconds = (
                pl.when(pl.col("web")).then(pl.col("u_time") * 86_400)
                .otherwise(32_400 + pl.col("u_time") * 36_000)
            ).floor().cast(pl.Int64)
            frame = lines.with_columns(
                sold_us=start_us + pl.col("day") * 86_400_000_000 + seconds * 1_000_000,
            ).sort("sold_us", "order", "line")
            frame = frame.select(
                id=pl.int_range(sale_id + 1, sale_id + n_lines + 1),
                variant_id=pl.col("variant") + self.ids.variant_offset + 1,
                warehouse_id="warehouse_id",
                qty=1 + (pl.col("u_qty") < 0.12).cast(pl.Int64)
                + (pl.col("u_qty") < 0.03).cast(pl.Int64),
                unit_price_cents=((pl.col("price") * pl.col("factor")) / 100).round() * 100,
                channel=pl.when(pl.col("web")).then(pl.lit("web")).otherwise(pl.lit("store")),
                order_ref=pl.format(
                    "{}-{}",
                    pl.when(pl.col("web")).then(pl.lit("WEB")).otherwise(pl.lit("POS")),
                    (pl.col("order") + 1).cast(pl.String).str.zfill(8),
                ),
                sold_at=pl.col("sold_us").cast(pl.Datetime("us", "UTC"))
                .dt.strftime(self.ts_format),
            ).with_columns(pl.col("unit_price_cents").cast(pl.Int64))
            sale_id += n_lines
            yield frame


_LINES_PER_ORDER = 1.4  # 1 + P(u < 0.3) + P(u < 0.1)


def _cumulative(weights: Sequence[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _group_by_month(indexes: list[int], days: list[date]) -> Iterator[list[int]]:
    group: list[int] = []
    for i in indexes:
        if group and (days[i].year, days[i].month) != (days[group[0]].year, days[group[0]].month):
            yield group
            group = []
        group.append(i)
    if group:
        yield group
