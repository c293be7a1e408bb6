"""A small brand stock API for the demo, the tests and the sync benchmark.

    python -m jobs.demo_brand_api [--port 8765] [--drift 30]          # the demo brands
    python -m jobs.demo_brand_api --synthetic 20x10000 --port 8766    # benchmark data

Serves each brand's stock the way brand systems do:

- ``GET /brands/{code}/stock?limit=&cursor=``: paged JSON in the default shape
  ``{"items": [{"sku", "location", "quantity", "updated_at"}], "next_cursor"}``, or the
  "nested" shape ``{"data": {"stock": [{"variant_sku", "warehouse", "available",
  "modified"}]}, "paging": {"next": …}}`` for brands set up that way (to show field
  mappings);
- ``GET /brands/{code}/stock.csv``: the same stock as one CSV file;
- an ETag and Last-Modified on every answer, describing the whole feed, and 304 Not
  Modified for If-None-Match / If-Modified-Since (If-None-Match wins when both come);
- optional bearer tokens per brand (401 without the right one).

A fault switch simulates the ways brand APIs fail: ``POST /_demo/faults`` with
``{"kind": "status", "status": 503, "times": 2}`` (also 429 with ``retry_after``),
``"slow"`` (``seconds``), ``"html"``, ``"malformed"``, ``"huge"`` (``bytes``),
``"missing"`` (404) — each optionally for one ``brand`` and one ``page`` only, and for
``times`` requests (-1: until cleared); ``DELETE /_demo/faults`` clears them.
``POST /_demo/drift`` changes some quantities now; ``GET /_demo/stats`` counts requests.

The demo's data comes from the database the app uses (each demo brand's balances, with
the brand's own SKUs where it has them), so the first sync finds little to change and
the drift then gives every later sync something to do.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import csv
import hashlib
import io
import json
import random
import threading
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

DEFAULT_PORT = 8765
MAX_LIMIT = 10_000


@dataclass(slots=True)
class DemoItem:
    sku: str
    location: str
    quantity: Any  # usually int; tests put in anything a broken API might send
    updated_at: Any  # usually an aware datetime; tests put in strings, None, ...


@dataclass
class DemoBrand:
    code: str
    items: list[DemoItem]
    token: str | None = None
    #: "default" or "nested" (see the module docstring).
    shape: str = "default"
    version: int = 1
    modified: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    _pages: dict[tuple[int, int, int], bytes] = field(default_factory=dict)

    @property
    def etag(self) -> str:
        digest = hashlib.sha256(f"{self.code}:{self.version}".encode()).hexdigest()[:16]
        return f'"{digest}"'

    def changed(self) -> None:
        self.version += 1
        now = datetime.now(UTC).replace(microsecond=0)
        self.modified = max(now, self.modified + timedelta(seconds=1))
        self._pages.clear()


@dataclass
class Fault:
    kind: str
    brand: str | None = None
    page: int | None = None
    times: int = 1
    status: int = 503
    retry_after: str | None = None
    seconds: float = 0.0
    bytes: int = 0

    def matches(self, brand: str, page: int) -> bool:
        return (
            self.times != 0
            and (self.brand is None or self.brand == brand)
            and (self.page is None or self.page == page)
        )


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not text.startswith("o:") or not text[2:].isdigit():
        return None
    return int(text[2:])


class DemoBrandApi:
    """The server's state: brands, faults, request counts; `app` is the Starlette app."""

    def __init__(self, brands: Iterable[DemoBrand] = ()) -> None:
        self.brands: dict[str, DemoBrand] = {b.code: b for b in brands}
        self.faults: list[Fault] = []
        self.requests: dict[str, int] = {}
        #: Requests being answered right now, and the most there ever were at once.
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route("/brands/{code}/stock", self.stock),
                Route("/brands/{code}/stock.csv", self.stock_csv),
                Route("/_demo/faults", self.faults_endpoint, methods=["GET", "POST", "DELETE"]),
                Route("/_demo/drift", self.drift_endpoint, methods=["POST"]),
                Route("/_demo/stats", self.stats),
                Route("/health", lambda _r: JSONResponse({"ok": True})),
            ]
        )

    # --- state changes (used by tests directly, and by the endpoints) -----------------

    def add_brand(self, brand: DemoBrand) -> None:
        with self.lock:
            self.brands[brand.code] = brand

    def add_fault(self, **spec: Any) -> Fault:
        fault = Fault(**spec)
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def set_items(self, code: str, items: list[DemoItem]) -> None:
        with self.lock:
            brand = self.brands[code]
            brand.items = items
            brand.changed()

    def set_quantity(
        self, code: str, sku: str, location: str, quantity: Any, updated_at: Any = None
    ) -> None:
        with self.lock:
            brand = self.brands[code]
            for item in brand.items:
                if item.sku == sku and item.location == location:
                    item.quantity = quantity
                    item.updated_at = updated_at or datetime.now(UTC)
                    break
            else:
                brand.items.append(
                    DemoItem(sku, location, quantity, updated_at or datetime.now(UTC))
                )
            brand.changed()

    def drift(self, rng: random.Random, fraction: float = 0.01, code: str | None = None) -> int:
        """Change a share of one brand's quantities (a random brand unless given)."""
        with self.lock:
            if not self.brands:
                return 0
            brand = self.brands[code] if code else rng.choice(list(self.brands.values()))
            if not brand.items:
                return 0
            now = datetime.now(UTC)
            if fraction <= 0:
                return 0
            count = max(1, int(len(brand.items) * fraction))
            for item in rng.sample(brand.items, min(count, len(brand.items))):
                if isinstance(item.quantity, int):
                    item.quantity = max(0, item.quantity + rng.choice((-3, -2, -1, 1, 2, 4)))
                    item.updated_at = now
            brand.changed()
            return count

    # --- HTTP ------------------------------------------------------------------------

    def _fault(self, code: str, page: int) -> Fault | None:
        with self.lock:
            self.requests[code] = self.requests.get(code, 0) + 1
            for fault in self.faults:
                if fault.matches(code, page):
                    if fault.times > 0:
                        fault.times -= 1
                    return fault
        return None

    async def _apply_fault(self, fault: Fault | None) -> Response | None:
        if fault is None:
            return None
        if fault.kind == "slow":
            await asyncio.sleep(fault.seconds)
            return None
        if fault.kind == "status":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return JSONResponse({"error": "simulated"}, status_code=fault.status, headers=headers)
        if fault.kind == "missing":
            return JSONResponse({"error": "no such page"}, status_code=404)
        if fault.kind == "html":
            return Response(
                "<!DOCTYPE html><html><head><title>Maintenance</title></head>"
                "<body><h1>We'll be back soon</h1></body></html>",
                media_type="text/html",
            )
        if fault.kind == "malformed":
            return Response('{"items": [{"sku": "X", "quantity": 3', media_type="application/json")
        if fault.kind == "huge":
            size = fault.bytes or 50 * 1024 * 1024

            async def body() -> AsyncIterator[bytes]:
                chunk = b" " * 65536
                sent = 0
                yield b'{"items": ['
                while sent < size:
                    yield chunk
                    sent += len(chunk)
                yield b"]}"

            return StreamingResponse(body(), media_type="application/json")
        return None

    def _authorised(self, brand: DemoBrand, request: Request) -> bool:
        if not brand.token:
            return True
        return request.headers.get("authorization", "") == f"Bearer {brand.token}"

    def _not_modified(self, brand: DemoBrand, request: Request) -> bool:
        if_none_match = request.headers.get("if-none-match")
        if if_none_match is not None:
            return brand.etag in [tag.strip() for tag in if_none_match.split(",")] or (
                if_none_match.strip() == "*"
            )
        since = request.headers.get("if-modified-since")
        if since:
            try:
                return brand.modified <= parsedate_to_datetime(since)
            except (TypeError, ValueError):
                return False
        return False

    def _validators(self, brand: DemoBrand) -> dict[str, str]:
        return {"ETag": brand.etag, "Last-Modified": format_datetime(brand.modified, usegmt=True)}

    async def stock(self, request: Request) -> Response:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._stock(request)
        finally:
            with self.lock:
                self.in_flight -= 1

    async def _stock(self, request: Request) -> Response:
        code = request.path_params["code"]
        brand = self.brands.get(code)
        limit_text = request.query_params.get("limit", "500")
        cursor = request.query_params.get("cursor")
        offset = 0 if cursor is None else decode_cursor(cursor)
        limit = int(limit_text) if limit_text.isdigit() else 0
        page_no = (offset or 0) // max(limit, 1) + 1
        fault = await self._apply_fault(self._fault(code, page_no))
        if fault is not None:
            return fault
        if brand is None:
            return JSONResponse({"error": f"no brand {code}"}, status_code=404)
        if not self._authorised(brand, request):
            return JSONResponse({"error": "unauthorised"}, status_code=401)
        if offset is None or not 1 <= limit <= MAX_LIMIT:
            return JSONResponse({"error": "bad cursor or limit"}, status_code=400)
        with self.lock:
            headers = self._validators(brand)
            if self._not_modified(brand, request):
                return Response(status_code=304, headers=headers)
            key = (brand.version, offset, limit)
            body = brand._pages.get(key)
            if body is None:
                body = self._page(brand, offset, limit)
                brand._pages[key] = body
        return Response(body, media_type="application/json", headers=headers)

    def _page(self, brand: DemoBrand, offset: int, limit: int) -> bytes:
        items = brand.items[offset : offset + limit]
        more = offset + limit < len(brand.items)
        next_cursor = encode_cursor(offset + limit) if more else None
        if brand.shape == "nested":
            page: dict[str, Any] = {
                "data": {
                    "stock": [
                        {
                            "variant_sku": i.sku,
                            "warehouse": i.location,
                            "available": i.quantity,
                            "modified": _iso(i.updated_at),
                        }
                        for i in items
                    ]
                },
                "paging": {"next": next_cursor},
            }
        else:
            page = {
                "items": [
                    {
                        "sku": i.sku,
                        "location": i.location,
                        "quantity": i.quantity,
                        "updated_at": _iso(i.updated_at),
                    }
                    for i in items
                ],
                "next_cursor": next_cursor,
            }
        return json.dumps(page, separators=(",", ":")).encode()

    async def stock_csv(self, request: Request) -> Response:
        code = request.path_params["code"]
        brand = self.brands.get(code)
        fault = await self._apply_fault(self._fault(code, 1))
        if fault is not None:
            return fault
        if brand is None:
            return JSONResponse({"error": f"no brand {code}"}, status_code=404)
        if not self._authorised(brand, request):
            return JSONResponse({"error": "unauthorised"}, status_code=401)
        with self.lock:
            headers = self._validators(brand)
            if self._not_modified(brand, request):
                return Response(status_code=304, headers=headers)
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(["SKU", "Location", "Quantity", "Updated At"])
            for item in brand.items:
                writer.writerow([item.sku, item.location, item.quantity, _iso(item.updated_at)])
        return Response(out.getvalue(), media_type="text/csv", headers=headers)

    async def faults_endpoint(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.clear_faults()
        elif request.method == "POST":
            try:
                spec = await request.json()
                self.add_fault(**spec)
            except (ValueError, TypeError) as error:
                return JSONResponse({"error": str(error)}, status_code=400)
        with self.lock:
            faults = [vars(f).copy() for f in self.faults if f.times != 0]
        return JSONResponse({"faults": faults})

    async def drift_endpoint(self, request: Request) -> Response:
        try:
            fraction = float(request.query_params.get("fraction", "0.01"))
        except ValueError:
            fraction = -1.0
        if not 0 <= fraction <= 1:
            return JSONResponse({"error": "fraction must be a number from 0 to 1"}, status_code=400)
        rng = random.Random()  # noqa: S311  (demo data, not secrets)
        changed = self.drift(rng, fraction, request.query_params.get("brand"))
        return JSONResponse({"changed": changed})

    async def stats(self, _request: Request) -> Response:
        with self.lock:
            return JSONResponse(
                {
                    "requests": dict(self.requests),
                    "max_in_flight": self.max_in_flight,
                    "brands": {c: len(b.items) for c, b in self.brands.items()},
                }
            )


# --- data sets ----------------------------------------------------------------------------

#: Demo brands served in the "nested" shape, with their own location names.
NESTED_BRANDS = {"HLM"}
#: Demo brands whose connector reads the CSV file (the importer's path).
CSV_BRANDS = {"FLK"}


def demo_token(code: str) -> str:
    return f"demo-{code.lower()}-token"


def location_name(warehouse_code: str) -> str:
    """A brand's own name for one of our warehouses in the nested shape: WH-AMS → "ams"."""
    return warehouse_code.split("-")[-1].lower()


def brands_from_database(engine=None, *, codes: Iterable[str] | None = None) -> list[DemoBrand]:
    """The demo brands' stock as the brands themselves would report it, from our balances."""
    from sqlalchemy import select

    from jobs.seed_catalog import DEMO_BRANDS
    from models.catalog import Brand, SkuAlias, Variant, Warehouse
    from models.db import read_session
    from models.stock import StockBalance

    wanted = set(codes) if codes is not None else {b.code for b in DEMO_BRANDS}
    stamped = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    brands = []
    with read_session(engine) as session:
        for brand_id, code in session.execute(
            select(Brand.id, Brand.code).where(Brand.code.in_(wanted)).order_by(Brand.code)
        ):
            own = dict(
                session.execute(
                    select(SkuAlias.variant_id, SkuAlias.code).where(
                        SkuAlias.brand_id == brand_id, SkuAlias.kind == "brand"
                    )
                ).all()
            )
            nested = code in NESTED_BRANDS
            rows = session.execute(
                select(Variant.id, Variant.sku, Warehouse.code, StockBalance.on_hand)
                .join(StockBalance, StockBalance.variant_id == Variant.id)
                .join(Warehouse, Warehouse.id == StockBalance.warehouse_id)
                .where(Variant.brand_id == brand_id)
                .order_by(Variant.id, Warehouse.code)
            )
            items = [
                DemoItem(
                    own.get(variant_id, sku),
                    location_name(warehouse) if nested else warehouse,
                    on_hand,
                    stamped,
                )
                for variant_id, sku, warehouse, on_hand in rows
            ]
            brands.append(
                DemoBrand(
                    code,
                    items,
                    token=demo_token(code),
                    shape="nested" if nested else "default",
                )
            )
    return brands


def synthetic_brands(
    brands: int, skus: int, locations: list[str], *, stamp: datetime | None = None
) -> list[DemoBrand]:
    """`brands` brands B01… with `skus` SKUs each (B01-000000…), one location per SKU."""
    stamp = stamp or datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for b in range(1, brands + 1):
        code = f"B{b:02d}"
        items = [
            DemoItem(f"{code}-{i:06d}", locations[i % len(locations)], (i * 7 + b) % 50 + 1, stamp)
            for i in range(skus)
        ]
        out.append(DemoBrand(code, items))
    return out


# --- running it ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="Rackroom's demo brand API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--synthetic",
        metavar="BRANDSxSKUS",
        help="serve generated brands B01… instead of the demo brands from the database",
    )
    parser.add_argument("--locations", default="WH1", help="warehouse codes for --synthetic")
    parser.add_argument(
        "--drift",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="every SECONDS, change ~1%% of a random brand's quantities",
    )
    args = parser.parse_args(argv)
    if args.synthetic:
        count, _, size = args.synthetic.lower().partition("x")
        brands = synthetic_brands(int(count), int(size), args.locations.split(","))
    else:
        brands = brands_from_database()
    api = DemoBrandApi(brands)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        task = None
        if args.drift > 0:

            async def drift() -> None:
                rng = random.Random()  # noqa: S311  (demo data, not secrets)
                while True:
                    await asyncio.sleep(args.drift)
                    api.drift(rng)

            task = asyncio.create_task(drift())
        yield
        if task:
            task.cancel()

    api.app.router.lifespan_context = lifespan
    total = sum(len(b.items) for b in brands)
    print(
        f"demo brand API on http://{args.host}:{args.port} ({len(brands)} brands, {total:,} items)",
        flush=True,
    )
    uvicorn.run(api.app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
