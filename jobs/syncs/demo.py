"""Connectors for the demo brands, pointing at the demo brand API (`jobs.demo_brand_api`).

`make run` seeds the demo data, starts the demo brand API on 127.0.0.1:8765 and calls
`rackroom connector demo --if-missing`, which calls `configure_demo_connectors`: every
demo brand in the database gets a connector to it — JSON for most (HLM in the "nested"
shape through a field mapping, with its own location names), CSV over HTTP for FLK
(through the importer, with a saved column mapping "demo-feed") — a demo token, a
one-minute schedule and alternating conflict policies, so the /syncs page shows syncs
working out of the box.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from jobs.demo_brand_api import (
    CSV_BRANDS,
    DEFAULT_PORT,
    NESTED_BRANDS,
    demo_token,
    location_name,
)
from jobs.imports import MappingSpec, list_mappings, save_mapping
from jobs.seed_catalog import DEMO_BRANDS
from models.catalog import Brand, Warehouse
from models.syncs import Connector, ConnectorView, set_connector

DEMO_API_URL = f"http://127.0.0.1:{DEFAULT_PORT}"

CSV_MAPPING = "demo-feed"
#: The demo brand API's CSV header → the importer's fields.
CSV_COLUMNS = {"sku": "SKU", "location": "Location", "quantity": "Quantity"}

NESTED_MAPPING = {
    "items": "data.stock",
    "sku": "variant_sku",
    "location": "warehouse",
    "quantity": "available",
    "updated_at": "modified",
    "next_cursor": "paging.next",
}


def configure_demo_connectors(
    session: Session,
    base_url: str = DEMO_API_URL,
    *,
    every: str = "1m",
    only_missing: bool = True,
) -> list[ConnectorView]:
    """Give each demo brand present in the database a connector to the demo brand API."""
    base_url = base_url.rstrip("/")
    codes = {b.code for b in DEMO_BRANDS}
    brands = list(session.scalars(select(Brand).where(Brand.code.in_(codes)).order_by(Brand.code)))
    configured = {brand_id for brand_id in session.scalars(select(Connector.brand_id))}
    warehouses = list(session.scalars(select(Warehouse.code)))
    views = []
    for index, brand in enumerate(brands):
        if only_missing and brand.id in configured:
            continue
        mapping: dict = {}
        style, path = "json", "stock"
        if brand.code in CSV_BRANDS:
            style, path = "csv", "stock.csv"
            if CSV_MAPPING not in list_mappings(session, brand.id):
                save_mapping(session, brand.id, CSV_MAPPING, MappingSpec(columns=CSV_COLUMNS))
            mapping = {"csv_mapping": CSV_MAPPING}
        elif brand.code in NESTED_BRANDS:
            mapping = {
                **NESTED_MAPPING,
                "locations": {location_name(code): code for code in warehouses},
            }
        views.append(
            set_connector(
                session,
                brand.code,
                style=style,
                url=f"{base_url}/brands/{brand.code}/{path}",
                token=demo_token(brand.code),
                every=every,
                policy="newest" if index % 2 == 0 else "platform",
                page_size=250,
                mapping=mapping,
            )
        )
    return views
