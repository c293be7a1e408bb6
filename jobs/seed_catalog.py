"""The demo catalogue `rackroom seed` builds: size runs, categories, brands, warehouses,
scales, and the styles, variants and aliases drawn from them.

Plain Python with `random.Random(seed)`, so the catalogue is a pure function of the seed;
`jobs.seed_data` builds the bulk tables (stock, ledger, sales) on top of it.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import re
from dataclasses import dataclass, field

from models.sizes import CORE_ALPHA, SizeSystem, size_rank

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
            "season": {"winter": "AW26", "summer": "SS26"}.get(category.season, "CORE"),
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
