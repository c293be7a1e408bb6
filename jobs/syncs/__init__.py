"""Brand syncs: fetch a brand's stock feed over HTTP and apply it whole or not at all.

- `fetch`: robust HTTP (timeouts, retries with backoff and jitter, 429 Retry-After,
  conditional requests, bounded bodies, a run deadline);
- `feed`: read the JSON style's pages through the connector's field mapping;
- `apply`: resolve SKUs and locations, decide conflicts by policy, write in one go;
- `json_style`, `csv_style`: one runner per connector style (fetch, apply, finish);
- `record`: finishing a run's record and reading it back (the runners' one way out);
- `run`: one run of one brand, recorded (`run_sync`), and many brands at once;
- `demo`: connectors for the demo brands, pointing at `jobs.demo_brand_api`.
"""
