"""What the analytics frames hold: their column schemas and the immutable `Frames`
snapshot (with its display-label frames). `jobs.analytics.frames` loads and refreshes
them; `jobs.analytics.shared` writes and maps them as Arrow IPC files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

UTC_US = pl.Datetime("us", "UTC")
SALES_SCHEMA = {
    "id": pl.Int64,
    "variant_id": pl.Int32,
    "warehouse_id": pl.Int32,
    "qty": pl.Int32,
    "sold_at": UTC_US,
}
BALANCE_SCHEMA = {
    "variant_id": pl.Int32,
    "warehouse_id": pl.Int32,
    "on_hand": pl.Int32,
    "reserved": pl.Int32,
    "incoming": pl.Int32,
    "updated_at": UTC_US,
}
RECEIPT_SCHEMA = {
    "variant_id": pl.Int32,
    "warehouse_id": pl.Int32,
    "first_receipt_at": UTC_US,
    "last_receipt_at": UTC_US,
}
VARIANT_SCHEMA = {
    "variant_id": pl.Int32,
    "product_id": pl.Int32,
    "brand_id": pl.Int32,
    "sku": pl.String,
    "colour": pl.String,
    "size": pl.String,
    "size_system": pl.String,
    "size_rank": pl.Int32,
    "style_code": pl.String,
    "product": pl.String,
    "category": pl.String,
}
BRAND_SCHEMA = {"brand_id": pl.Int32, "brand": pl.String, "brand_name": pl.String}
WAREHOUSE_SCHEMA = {"warehouse_id": pl.Int32, "warehouse": pl.String, "warehouse_name": pl.String}


@dataclass(frozen=True, slots=True)
class Frames:
    """One consistent, immutable view of the analytics data.

    sales: id, variant_id, warehouse_id, qty (net: returns negative), sold_at, brand_id,
    product_id. stock: one row per balance with on_hand, reserved, incoming, brand_id,
    product_id. receipts: first and last receipt per (variant, warehouse). variants, brands,
    warehouses: the catalogue with display labels.
    """

    sales: pl.DataFrame
    stock: pl.DataFrame
    receipts: pl.DataFrame
    variants: pl.DataFrame
    brands: pl.DataFrame
    warehouses: pl.DataFrame
    refreshed_at: datetime
    #: Display labels, joined once per catalogue change rather than on every chart.
    variant_labels: pl.DataFrame
    product_labels: pl.DataFrame
    #: (size_system, size) → size_rank, for ordering size curves.
    size_ranks: pl.DataFrame


def label_frames(variants: pl.DataFrame, brands: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The label frames of `Frames` for this catalogue."""
    with_brand = variants.join(brands.select("brand_id", "brand"), on="brand_id", how="left")
    return {
        "variant_labels": with_brand.select(
            "variant_id", "sku", "brand", "style_code", "product", "colour", "size",
        ),
        "product_labels": with_brand.select(
            "product_id", "brand", "style_code", "product", "category"
        ).unique("product_id", keep="first").sort("product_id"),
        "size_ranks": variants.group_by("size_system", "size").agg(pl.col("size_rank").min()),
    }
