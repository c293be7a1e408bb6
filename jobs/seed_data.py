"""What `rackroom seed` loads: a plausible multi-brand catalogue, stock and a year of sales.

Everything is a pure function of the seed (and the `as_of` date the sales year ends
on). The catalogue (brands, styles, variants, aliases) is built in plain Python with
`random.Random(seed)`; the bulk tables (balances, ledger, sale lines) are built with
polars, whose random numbers come from a splitmix64 hash of (seed, stream, row) written
as polars expressions, so they are vectorised and also stable across polars versions
(polars' own `hash` is only stable within one version).

The loader (`jobs.seed`) receives `TableLoad`s: a table, its columns and a function
that yields DataFrames whose columns are already database-ready (ints and strings;
timestamps pre-formatted for the dialect), so the same rows can go to PostgreSQL COPY,
SQLite executemany or the benchmark's raw baseline.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import polars as pl

from models.sizes import CORE_ALPHA, SizeSystem, size_rank

SEED_ACTOR = "system:seed"
OPENING_STOCK_REFERENCE = "seed:opening-stock"

#: Timestamp text per dialect: PostgreSQL reads ISO with an offset; SQLite stores the
#: naive-UTC text SQLAlchemy's DateTime writes (so string comparisons stay correct).
TIMESTAMP_FORMATS = {
    "postgresql": "%Y-%m-%d %H:%M:%S%.f+00",
    "sqlite": "%Y-%m-%d %H:%M:%S%.6f",
}

# --- size runs ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SizeRun:
    system: SizeSystem
    sizes: tuple[str, ...]
    #: Share of demand per size (sums to ~1): the size curve.
    weights: tuple[float, ...]

    @property
    def core(self) -> frozenset[str]:
        """Sizes whose absence, while others remain, makes the run "broken"."""
        if self.system is SizeSystem.ALPHA:
            return frozenset(CORE_ALPHA) & set(self.sizes)
        if len(self.sizes) < 4:
            return frozenset()
        ranked = sorted(zip(self.weights, self.sizes, strict=True), reverse=True)
        return frozenset(size for _, size in ranked[:3])


def _bell(n: int, peak: float, spread: float) -> tuple[float, ...]:
    raw = [math.exp(-((i - peak) ** 2) / (2 * spread**2)) for i in range(n)]
    total = sum(raw)
    return tuple(round(x / total, 4) for x in raw)


ALPHA = SizeRun(
    SizeSystem.ALPHA, ("XS", "S", "M", "L", "XL", "XXL"), (0.06, 0.17, 0.28, 0.26, 0.15, 0.08)
)
_WAISTS, _LEGS = (28, 30, 32, 34, 36), (30, 32, 34)
_WAIST_W, _LEG_W = (0.10, 0.22, 0.30, 0.24, 0.14), (0.30, 0.45, 0.25)
WAIST_LEG = SizeRun(
    SizeSystem.WAIST,
    tuple(f"W{w} L{leg}" for w in _WAISTS for leg in _LEGS),
    tuple(round(a * b, 4) for a in _WAIST_W for b in _LEG_W),
)
WAIST = SizeRun(
    SizeSystem.WAIST, tuple(f"W{w}" for w in range(28, 40, 2)), _bell(6, 2.2, 1.3)
)
EU_SHOE = SizeRun(SizeSystem.EU_SHOE, tuple(f"EU {n}" for n in range(38, 47)), _bell(9, 4.2, 1.9))
UK_SHOE = SizeRun(SizeSystem.UK_SHOE, tuple(f"UK {n}" for n in range(6, 12)), _bell(6, 2.5, 1.3))
ONE_SIZE = SizeRun(SizeSystem.ONE_SIZE, ("One Size",), (1.0,))

# --- categories ----------------------------------------------------------------------------

_BASICS = (("Black", "BLK"), ("White", "WHT"), ("Navy", "NVY"), ("Grey Melange", "GRY"),
           ("Ecru", "ECR"), ("Olive", "OLV"), ("Rust", "RST"), ("Sky", "SKY"), ("Forest", "FST"),
           ("Burgundy", "BUR"), ("Sand", "SND"), ("Charcoal", "CHR"))
_DENIM = (("Rinse", "RNS"), ("Mid Wash", "MID"), ("Light Wash", "LTW"), ("Black", "BLK"),
          ("Raw Indigo", "RAW"), ("Ecru", "ECR"))
_LEATHER = (("Black", "BLK"), ("Brown", "BRN"), ("Tan", "TAN"), ("White", "WHT"), ("Navy", "NVY"),
            ("Oxblood", "OXB"), ("Sand", "SND"))
_OUTER = (("Black", "BLK"), ("Navy", "NVY"), ("Olive", "OLV"), ("Camel", "CML"), ("Stone", "STN"),
          ("Charcoal", "CHR"), ("Rust", "RST"))


@dataclass(frozen=True, slots=True)
class Category:
    key: str
    code: str
    size_run: SizeRun
    #: "all", "winter" or "summer": which months sell it.
    season: str
    price_range: tuple[int, int]  # whole euros
    palette: tuple[tuple[str, str], ...]
    colours: tuple[int, int]
    nouns: tuple[str, ...]
    fabrics: tuple[str, ...]
    care: tuple[str, ...]


CATEGORIES: dict[str, Category] = {c.key: c for c in (
    Category("tees", "TEE", ALPHA, "all", (25, 55), _BASICS, (3, 6),
             ("Crew Tee", "Pocket Tee", "Boxy Tee", "Long Sleeve Tee", "Henley", "Raglan Tee"),
             ("100% organic cotton jersey", "cotton-linen slub", "heavyweight cotton",
              "Tencel blend"),
             ("Machine wash 30°C", "Wash inside out at 30°C")),
    Category("knitwear", "KNT", ALPHA, "winter", (79, 169), _BASICS, (2, 5),
             ("Crew Knit", "Cardigan", "Roll Neck", "Fisherman Sweater", "Half Zip", "Knit Vest"),
             ("100% merino wool", "lambswool", "cotton-cashmere blend", "recycled wool"),
             ("Hand wash cold, dry flat", "Wool cycle 20°C, dry flat")),
    Category("shirts", "SHT", ALPHA, "all", (59, 119), _BASICS, (2, 5),
             ("Oxford Shirt", "Overshirt", "Poplin Shirt", "Flannel Shirt", "Camp Collar Shirt"),
             ("cotton oxford", "brushed cotton flannel", "linen", "cotton poplin"),
             ("Machine wash 40°C", "Machine wash 30°C, line dry")),
    Category("outerwear", "OUT", ALPHA, "winter", (179, 399), _OUTER, (2, 4),
             ("Parka", "Chore Jacket", "Rain Jacket", "Puffer", "Wool Coat", "Field Jacket"),
             ("waxed cotton", "recycled nylon ripstop", "wool-cashmere melton", "3-layer shell"),
             ("Dry clean only", "Sponge clean, do not wash")),
    Category("shorts", "SHO", ALPHA, "summer", (39, 79), _BASICS, (2, 4),
             ("Chino Short", "Swim Short", "Drawstring Short", "Cargo Short"),
             ("cotton twill", "recycled polyester", "linen-cotton"),
             ("Machine wash 30°C",)),
    Category("denim", "DNM", WAIST_LEG, "all", (99, 189), _DENIM, (2, 4),
             ("Straight Jean", "Slim Jean", "Relaxed Jean", "Tapered Jean", "Wide Jean"),
             ("13.5oz selvedge denim", "12oz organic denim", "comfort stretch denim"),
             ("Wash rarely, inside out, cold", "Machine wash 30°C inside out")),
    Category("trousers", "TRS", WAIST, "all", (79, 149), _OUTER, (2, 4),
             ("Chino", "Pleated Trouser", "Cargo Pant", "Carpenter Pant", "Drawstring Trouser"),
             ("cotton twill", "wool flannel", "ripstop cotton", "corduroy"),
             ("Machine wash 30°C", "Dry clean recommended")),
    Category("sneakers", "SNK", EU_SHOE, "all", (99, 189), _LEATHER, (2, 4),
             ("Court Sneaker", "Runner", "High Top", "Trail Runner", "Canvas Low"),
             ("full-grain leather", "suede and mesh", "organic canvas", "recycled knit"),
             ("Wipe clean", "Brush suede, no water")),
    Category("boots", "BOT", EU_SHOE, "winter", (169, 299), _LEATHER, (2, 3),
             ("Chelsea Boot", "Derby Boot", "Hiking Boot", "Lace-up Boot"),
             ("waxed leather", "suede", "Goodyear-welted calf leather"),
             ("Polish and protect", "Brush and waterproof")),
    Category("loafers", "LOF", UK_SHOE, "all", (139, 259), _LEATHER, (2, 4),
             ("Penny Loafer", "Tassel Loafer", "Derby", "Brogue", "Monk Strap"),
             ("calf leather", "polished leather", "suede"),
             ("Polish with cream, use shoe trees",)),
    Category("accessories", "ACC", ONE_SIZE, "all", (19, 129),
             (*_OUTER, *_BASICS[3:5], _BASICS[1]), (2, 5),
             ("Tote Bag", "Beanie", "Scarf", "Cap", "Belt Bag", "Wallet", "Card Holder",
              "Socks 3-pack"),
             ("heavy canvas", "recycled nylon", "lambswool", "vegetable-tanned leather"),
             ("Spot clean", "Hand wash cold")),
)}

_ADJECTIVES = ("Relaxed", "Classic", "Heavy", "Organic", "Everyday", "Archive", "Washed", "Fine",
               "Loopback", "Utility", "Studio", "Coastal", "Alpine", "Garment-dyed", "Essential")
_TAGS = ("bestseller", "new-in", "organic", "recycled", "made-in-eu", "limited", "core",
         "collab", "vegan", "gift-idea", "workwear", "capsule")
_ORIGINS = ("Portugal", "Italy", "Japan", "Turkey", "Lithuania", "Romania", "Scotland", "India")

# --- brands and warehouses -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BrandSpec:
    code: str
    name: str
    categories: tuple[str, ...]
    #: The brand sends its own SKUs (stored as "brand" aliases).
    own_skus: bool = False
    #: Some variants were renumbered once (stored as "legacy" aliases).
    legacy: bool = False

    @property
    def slug(self) -> str:
        """The brand's mail domain label, e.g. "Folk & Field" → "folkandfield"."""
        return re.sub(r"[^a-z0-9]+", "", self.name.lower().replace("&", "and"))


#: The demo brands: their size systems differ on purpose (alpha, waist, EU/UK shoes, one size).
DEMO_BRANDS: tuple[BrandSpec, ...] = (
    BrandSpec("NRD", "Nordlys", ("tees", "knitwear", "shirts")),
    BrandSpec("IND", "Indigo Mills", ("denim", "trousers"), own_skus=True, legacy=True),
    BrandSpec("STR", "Strada", ("sneakers", "boots"), own_skus=True),
    BrandSpec("FLK", "Folk & Field", ("accessories",), own_skus=True),
    BrandSpec("HLM", "Halm Outdoor", ("outerwear", "shorts", "knitwear"), legacy=True),
    BrandSpec("BRO", "Brogue & Co", ("loafers", "accessories")),
    BrandSpec("ARC", "Arc Studio", ("tees", "trousers", "sneakers")),
)

_SYLLABLES = ("Vel", "Ast", "Kor", "Lun", "Mar", "Ost", "Pel", "Rav", "Sol", "Tid", "Umb", "Vin",
              "Wen", "Yar", "Zel", "Bri", "Cal", "Dor", "Eli", "Fen", "Gal", "Hav", "Ivo", "Jun",
              "Kel", "Lor", "Mio", "Nor", "Oka", "Pra")
_ENDINGS = ("a", "en", "o", "is", "ar", "ia", "um", "e", "et", "ik")
_SUFFIXES = ("Studio", "Supply", "Atelier", "Workwear", "Goods", "Collective", "Label", "Denim Co",
             "Outfitters", "Club")


@dataclass(frozen=True, slots=True)
class WarehouseSpec:
    code: str
    name: str
    kind: str
    priority: int
    #: Stock depth relative to the main warehouse.
    depth: float


_ALL_WAREHOUSES = (
    WarehouseSpec("WH-AMS", "Amsterdam DC", "warehouse", 10, 1.0),
    WarehouseSpec("WH-LEJ", "Leipzig DC", "warehouse", 20, 0.7),
    WarehouseSpec("WH-MAD", "Madrid DC", "warehouse", 30, 0.45),
    WarehouseSpec("WH-MIL", "Milan DC", "warehouse", 40, 0.35),
    WarehouseSpec("WH-WRO", "Wrocław returns & overflow", "warehouse", 90, 0.2),
    WarehouseSpec("ST-LDN", "London Shoreditch store", "store", 50, 0.15),
    WarehouseSpec("ST-CPH", "Copenhagen Nørrebro store", "store", 60, 0.12),
    WarehouseSpec("ST-PAR", "Paris Marais store", "store", 70, 0.12),
)
DEMO_WAREHOUSES = (*_ALL_WAREHOUSES[:3], *_ALL_WAREHOUSES[5:7])
LARGE_WAREHOUSES = _ALL_WAREHOUSES


@dataclass(frozen=True, slots=True)
class ScaleSpec:
    name: str
    brands: int
    warehouses: tuple[WarehouseSpec, ...]
    sale_lines: int
    #: Demo: a fixed number of styles per brand. Otherwise styles are added until
    #: the catalogue has `variants` variants.
    styles_per_brand: int | None = None
    variants: int | None = None
    reservations: int = 8
    #: Balance rows per chunk (progress granularity and memory per COPY write).
    chunk_rows: int = 200_000


SCALES: dict[str, ScaleSpec] = {
    "demo": ScaleSpec("demo", brands=7, warehouses=DEMO_WAREHOUSES, sale_lines=120_000,
                      styles_per_brand=48),
    "small": ScaleSpec("small", brands=12, warehouses=LARGE_WAREHOUSES, sale_lines=200_000,
                       variants=20_000),
    "large": ScaleSpec("large", brands=50, warehouses=LARGE_WAREHOUSES, sale_lines=5_000_000,
                       variants=200_000),
}

# --- the catalogue (plain Python) ----------------------------------------------------------


@dataclass
class Catalog:
    """Columns of the generated catalogue; indexes are positions, not database ids."""

    brands: list[BrandSpec]
    # product columns
    p_brand: list[int] = field(default_factory=list)
    p_style: list[str] = field(default_factory=list)
    p_name: list[str] = field(default_factory=list)
    p_category: list[str] = field(default_factory=list)
    p_attributes: list[str] = field(default_factory=list)
    p_popularity: list[float] = field(default_factory=list)
    p_season: list[str] = field(default_factory=list)
    # variant columns
    v_product: list[int] = field(default_factory=list)
    v_brand: list[int] = field(default_factory=list)
    v_sku: list[str] = field(default_factory=list)
    v_colour: list[str] = field(default_factory=list)
    v_size: list[str] = field(default_factory=list)
    v_system: list[str] = field(default_factory=list)
    v_rank: list[int] = field(default_factory=list)
    v_barcode: list[str] = field(default_factory=list)
    v_price: list[int] = field(default_factory=list)
    v_size_weight: list[float] = field(default_factory=list)
    v_core: list[bool] = field(default_factory=list)
    v_colour_rank: list[int] = field(default_factory=list)
    #: One number per (product, colour): the unit a size run belongs to.
    v_style_colour: list[int] = field(default_factory=list)
    # alias columns
    a_variant: list[int] = field(default_factory=list)
    a_brand: list[int] = field(default_factory=list)
    a_kind: list[str] = field(default_factory=list)
    a_code: list[str] = field(default_factory=list)


def ean13(first12: str) -> str:
    """Append the EAN-13 check digit to 12 digits."""
    if len(first12) != 12 or not first12.isdigit():
        raise ValueError(f"EAN-13 needs 12 digits, got {first12!r}")
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


def _size_code(size: str) -> str:
    return "OS" if size == "One Size" else size.replace(" ", "")


def brand_specs(spec: ScaleSpec, rng: random.Random) -> list[BrandSpec]:
    """The demo brands, then invented ones up to `spec.brands`."""
    brands = list(DEMO_BRANDS[: spec.brands])
    codes = {b.code for b in brands}
    names = {b.name for b in brands}
    keys = list(CATEGORIES)
    while len(brands) < spec.brands:
        stem = rng.choice(_SYLLABLES) + rng.choice(_ENDINGS)
        name = f"{stem} {rng.choice(_SUFFIXES)}"
        if name in names:
            continue
        code = stem[:3].upper()
        n = 2
        while code in codes:
            code, n = f"{stem[:3].upper()}{n}", n + 1
        categories = tuple(rng.sample(keys, rng.choice((1, 2, 2, 3))))
        brands.append(BrandSpec(code, name, categories, own_skus=rng.random() < 0.4,
                                legacy=rng.random() < 0.3))
        codes.add(code)
        names.add(name)
    return brands


def build_catalog(spec: ScaleSpec, seed: int) -> Catalog:
    """Brands, styles, variants and aliases for `spec`, the same for the same seed."""
    rng = random.Random(seed)  # noqa: S311  (demo data, not secrets)
    catalog = Catalog(brands=brand_specs(spec, rng))
    counters: dict[tuple[int, str], int] = {}
    style_colours = itertools.count()
    brand_weights = [rng.uniform(0.4, 1.6) for _ in catalog.brands]

    def add_style(b: int) -> None:
        brand = catalog.brands[b]
        category = CATEGORIES[rng.choice(brand.categories)]
        number = counters[b, category.key] = counters.get((b, category.key), 0) + 1
        product = len(catalog.p_brand)
        style = f"{category.code}{number:03d}"
        euros = rng.randint(*category.price_range)
        price_cents = (euros - euros % 10 + 9) * 100  # shelf prices end in 9: €49.00
        popularity = rng.lognormvariate(0.0, 0.9)
        tags = sorted(rng.sample(_TAGS, rng.randint(1, 3)))
        if popularity > 2.5:
            tags = sorted({*tags, "bestseller"})
        attributes = {
            "fabric": rng.choice(category.fabrics),
            "care": rng.choice(category.care),
            "tags": tags,
            "origin": rng.choice(_ORIGINS),
            "season": {"winter": "AW", "summer": "SS"}.get(category.season, "core"),
        }
        catalog.p_brand.append(b)
        catalog.p_style.append(style)
        catalog.p_name.append(f"{rng.choice(_ADJECTIVES)} {rng.choice(category.nouns)}")
        catalog.p_category.append(category.key)
        catalog.p_attributes.append(json.dumps(attributes, ensure_ascii=False, sort_keys=True))
        catalog.p_popularity.append(popularity)
        catalog.p_season.append(category.season)

        run = category.size_run
        core = run.core
        n_colours = min(len(category.palette), rng.randint(*category.colours))
        colours = rng.sample(category.palette, n_colours)
        for colour_rank, (colour, colour_code) in enumerate(colours):
            style_colour = next(style_colours)
            for size, weight in zip(run.sizes, run.weights, strict=True):
                index = len(catalog.v_sku)
                sku = f"{brand.code}-{style}-{colour_code}-{_size_code(size)}"
                catalog.v_product.append(product)
                catalog.v_brand.append(b)
                catalog.v_sku.append(sku)
                catalog.v_colour.append(colour)
                catalog.v_size.append(size)
                catalog.v_system.append(run.system.value)
                catalog.v_rank.append(size_rank(run.system, size))
                catalog.v_barcode.append(ean13(f"2{index + 1:011d}"))
                catalog.v_price.append(price_cents)
                catalog.v_size_weight.append(weight)
                catalog.v_core.append(size in core)
                catalog.v_colour_rank.append(colour_rank)
                catalog.v_style_colour.append(style_colour)
                if brand.own_skus:
                    code = f"{brand.code[:2]}{product:06d}-{colour_rank + 1:02d}-{_size_code(size)}"
                    _alias(catalog, index, b, "brand", code)
                if brand.legacy and rng.random() < 0.15:
                    _alias(catalog, index, b, "legacy", f"L-{brand.code}-{index:07d}")

    if spec.styles_per_brand is not None:
        for b in range(len(catalog.brands)):
            for _ in range(spec.styles_per_brand):
                add_style(b)
    else:
        target = spec.variants or 0
        while len(catalog.v_sku) < target:
            add_style(rng.choices(range(len(catalog.brands)), brand_weights)[0])
    return catalog


def _alias(catalog: Catalog, variant: int, brand: int, kind: str, code: str) -> None:
    catalog.a_variant.append(variant)
    catalog.a_brand.append(brand)
    catalog.a_kind.append(kind)
    catalog.a_code.append(code)


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
        self._balances = frame.select(
            variant_id=pl.col("v") + self.ids.variant_offset + 1,
            warehouse_id=pl.col("warehouse_id"),
            on_hand=on_hand,
        ).sort("variant_id", "warehouse_id")
        return self._balances

    def _balance_chunks(self) -> Iterator[pl.DataFrame]:
        stamp = self._timestamp(self.opening_at)
        frame = self.balances().with_columns(
            reserved=pl.lit(0), incoming=pl.lit(0), updated_at=pl.lit(stamp)
        )
        for start in range(0, frame.height, self.spec.chunk_rows):
            yield frame.slice(start, self.spec.chunk_rows)

    def _ledger_chunks(self) -> Iterator[pl.DataFrame]:
        """One "receipt" per stocked balance, so every balance equals its ledger."""
        stamp = self._timestamp(self.opening_at)
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
            created_at=pl.lit(stamp),
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
