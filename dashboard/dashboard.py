"""The Rackroom dashboard: the Reflex app, its pages (`dashboard.registry`), and the
channel API mounted inside.

The theme (one accent colour, light and dark) is configured in `rxconfig.py` through
`RadixThemesPlugin`: Reflex 0.10 deprecates `rx.App(theme=...)`. Every web worker
imports this module: it sets up JSON logging and metrics for the process
(`dashboard.observability`).
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import reflex as rx

from dashboard import pages  # noqa: F401 (importing it registers every page)
from dashboard.api import create_api
from dashboard.api.address_limits import address_limits
from dashboard.observability import ObservedApp, behind_proxy, observe_http
from dashboard.pages import embed
from dashboard.registry import register_pages
from dashboard.security_headers import security_headers
from dashboard.session_cookie import session_cookie, watch_session_cookies
from dashboard.upload_guard import upload_guard
from jobs import metrics
from jobs.logs import configure_logging
from jobs.scheduler import running_scheduler
from models.settings import settings

configure_logging("web")
metrics.start_process_metrics(settings())

# The channel API's routes (/api/v1/..., /metrics) match before Reflex's own; every
# request (pages, websocket, uploads, API) passes `behind_proxy`, then `security_headers`,
# then `observe_http`, then `address_limits` (per client address: /api/ requests and new
# /_event websockets); `POST /_upload` then passes `upload_guard` (a signed-in session,
# a body limit) before Reflex reads any of it; the websocket passes `session_cookie`
# (the HttpOnly session cookie taken out of what Reflex keeps in state).
# Every page's head gets the storage stand-in the public poll page needs in iframes.
app = ObservedApp(
    api_transformer=[
        create_api(),
        session_cookie,
        upload_guard,
        address_limits,
        observe_http,
        security_headers,
        behind_proxy,
    ],
    head_components=[
        embed.storage_fallback(),
        rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml"),
    ],
)


@app.register_lifespan_task
@asynccontextmanager
async def background_jobs() -> AsyncIterator[None]:
    """APScheduler's jobs (reservation expiry, ...) run while the backend runs."""
    with running_scheduler():
        yield


# The websocket's session token, remembered per connection (dashboard/session_cookie.py).
app.register_lifespan_task(watch_session_cookies)

register_pages(app)
