"""Analytics and customer demand, computed with polars on in-memory frames (no Reflex).

`frames` keeps the data current; `metrics` and `demand` compute tables (polars
DataFrames); `charts` turns them into plotly figures; `export` writes safe CSV.
"""
