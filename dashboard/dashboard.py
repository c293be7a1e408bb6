"""The Rackroom dashboard: the Reflex app, its pages, and the REST API mounted inside.

The theme (one accent colour, light and dark) is configured in `rxconfig.py` through
`RadixThemesPlugin`: Reflex 0.10 deprecates `rx.App(theme=...)`.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import reflex as rx

from dashboard.api import create_api
from dashboard.pages import (
    admin_api_keys,
    admin_brands,
    admin_users,
    admin_warehouses,
    alerts,
    analytics,
    demand,
    embed,
    imports,
    login,
    overview,
    stock,
    syncs,
    transfers,
)
from jobs.scheduler import running_scheduler

# The channel API's routes (/api/v1/...) match before Reflex's own on the backend port;
# every page's head gets the storage stand-in the public poll page needs in iframes.
app = rx.App(api_transformer=create_api(), head_components=[embed.storage_fallback()])


@app.register_lifespan_task
@asynccontextmanager
async def background_jobs() -> AsyncIterator[None]:
    """APScheduler's jobs (reservation expiry, ...) run while the backend runs."""
    with running_scheduler():
        yield


app.add_page(
    login.login_page,
    route=login.ROUTE,
    title=f"{login.TITLE} · Rackroom",
    on_load=login.ON_LOAD,
)
app.add_page(
    overview.overview_page,
    route=overview.ROUTE,
    title=f"{overview.TITLE} · Rackroom",
    on_load=overview.ON_LOAD,
)

app.add_page(
    syncs.syncs_page,
    route=syncs.ROUTE,
    title=f"{syncs.TITLE} · Rackroom",
    on_load=syncs.ON_LOAD,
)

# Transfers and alerts (staff only: each page's on_load and every handler check the role).
for _route, _page, _title, _on_load in (
    (transfers.ROUTE, transfers.transfers_page, "Transfers", transfers.ON_LOAD),
    (transfers.DETAIL_ROUTE, transfers.transfer_detail_page, "Transfer", transfers.DETAIL_ON_LOAD),
    (transfers.PICK_ROUTE, transfers.pick_list_page, "Pick list", transfers.PICK_ON_LOAD),
    (transfers.SUGGEST_ROUTE, transfers.suggestions_page, "Suggestions", transfers.SUGGEST_ON_LOAD),
    (alerts.ROUTE, alerts.alerts_page, "Alerts", alerts.ON_LOAD),
    (alerts.RULES_ROUTE, alerts.rules_page, "Alert rules", alerts.RULES_ON_LOAD),
    (alerts.REPLENISH_ROUTE, alerts.replenishment_page, "Reorder", alerts.REPLENISH_ON_LOAD),
):
    app.add_page(_page, route=_route, title=f"{_title} · Rackroom", on_load=_on_load)

app.add_page(
    stock.stock_page,
    route=stock.ROUTE,
    title=f"{stock.TITLE} · Rackroom",
    on_load=stock.ON_LOAD,
)

app.add_page(
    imports.imports_page,
    route=imports.ROUTE,
    title=f"{imports.TITLE} · Rackroom",
    on_load=imports.ON_LOAD,
)

# Admin pages (admins only: each page's on_load and every handler check the role).
for _module, _page in (
    (admin_users, admin_users.admin_users_page),
    (admin_brands, admin_brands.admin_brands_page),
    (admin_warehouses, admin_warehouses.admin_warehouses_page),
    (admin_api_keys, admin_api_keys.admin_api_keys_page),
):
    app.add_page(
        _page,
        route=_module.ROUTE,
        title=f"{_module.TITLE} · Admin · Rackroom",
        on_load=_module.ON_LOAD,
    )

# Analytics and demand: every reader role; every handler checks it, and a vendor sees
# only their own brand (the domain refuses any other).
for _module, _page in ((analytics, analytics.analytics_page), (demand, demand.demand_page)):
    app.add_page(_page, route=_module.ROUTE, title=f"{_module.TITLE} · Rackroom",
                 on_load=_module.ON_LOAD)

# The public poll page a storefront puts in an iframe: no login, no shell (the domain's
# one-vote-per-respondent rule and rate limit protect it).
app.add_page(embed.embed_poll_page, route=embed.ROUTE, title=f"{embed.TITLE} · Rackroom",
             on_load=embed.ON_LOAD)
