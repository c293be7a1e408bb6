"""Every page's address, said once. Pages register under these; links and redirects use them."""

LOGIN = "/login"
ACCOUNT = "/account"
OVERVIEW = "/"
STOCK = "/stock"
#: One product: its variants and attributes (`PRODUCT + "/<id>"`).
PRODUCT = "/products"
PRODUCT_PAGE = PRODUCT + "/[product_id]"
TRANSFERS = "/transfers"
TRANSFER_DETAIL = "/transfers/detail"
PICK_LIST = "/transfers/pick"
TRANSFER_SUGGESTIONS = "/transfers/suggest"
#: Cycle counts: today's list per warehouse (`?warehouse=<id>`), the blind sheet, variances.
COUNTS = "/counts"
ALERTS = "/alerts"
ALERT_RULES = "/alerts/rules"
REPLENISHMENT = "/alerts/replenishment"
IMPORTS = "/imports"
SYNCS = "/syncs"
ANALYTICS = "/analytics"
#: Markdown suggestions per style-colour (`?brand=&category=&page=&per=`).
MARKDOWNS = "/analytics/markdowns"
DEMAND = "/demand"
ADMIN_USERS = "/admin/users"
ADMIN_BRANDS = "/admin/brands"
ADMIN_WAREHOUSES = "/admin/warehouses"
ADMIN_CHANNELS = "/admin/channels"
ADMIN_API_KEYS = "/admin/api-keys"
ADMIN_WEBHOOKS = "/admin/webhooks"
#: One webhook endpoint's deliveries (`?webhook=<id>&status=…&page=…`).
ADMIN_WEBHOOK_DELIVERIES = "/admin/webhooks/deliveries"
ADMIN_AUDIT = "/admin/audit"
#: The public poll page a storefront frames; `EMBED_POLL + "/<slug>"` is one poll (the
#: parameter keeps its old name; it holds the poll's random slug, never an id).
EMBED_POLL = "/embed/poll"
EMBED_POLL_PAGE = EMBED_POLL + "/[poll_id]"
#: Reflex's name for the page any unknown address shows.
NOT_FOUND = "404"

#: CSV exports the browser downloads over plain HTTP (dashboard/api/exports/).
STOCK_EXPORT = "/exports/stock.csv"
AUDIT_EXPORT = "/exports/audit.csv"
REPLENISHMENT_EXPORT = "/exports/replenishment.csv"
#: `{chart}` is a chart's key (`dashboard/states/analytics.py`, `demand.py` CHARTS).
ANALYTICS_EXPORT = "/exports/analytics/{chart}.csv"
DEMAND_EXPORT = "/exports/demand/{chart}.csv"
#: The markdown suggestions of the filters in the query (`?brand=&category=`).
MARKDOWNS_EXPORT = "/exports/markdowns.csv"
#: The sign-in hand-off (sets the HttpOnly session cookie) and sign-out (clears it):
#: backend routes (dashboard/api/session.py), not pages.
AUTH_SESSION = "/auth/session"
AUTH_LOGOUT = "/auth/logout"
#: The errors stored with a past import (the history's dialog).
IMPORT_ERRORS_EXPORT = "/exports/imports/{run_id}/errors.csv"


def product_href(product_id: int) -> str:
    """The address of one product's page."""
    return f"{PRODUCT}/{product_id}"
