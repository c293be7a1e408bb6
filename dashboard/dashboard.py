"""The Rackroom dashboard: the Reflex app, its pages, and the REST API mounted inside.

The theme (one accent colour, light and dark) is configured in `rxconfig.py` through
`RadixThemesPlugin`: Reflex 0.10 deprecates `rx.App(theme=...)`.
"""

import reflex as rx

from dashboard.api import create_api
from dashboard.pages import login, overview

# The channel API's routes (/api/v1/...) match before Reflex's own on the backend port.
app = rx.App(api_transformer=create_api())

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
