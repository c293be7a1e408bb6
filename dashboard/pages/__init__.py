# isort: skip_file
"""The dashboard's pages. Importing this package registers every page (`dashboard.registry`),
in the order the sidebar lists them."""

from dashboard.pages import (  # noqa: F401 (imported to register their pages)
    overview,
    stock,
    product,
    transfers,
    counts,
    alerts,
    imports,
    syncs,
    analytics,
    markdowns,
    demand,
    account,
    admin_users,
    admin_brands,
    admin_warehouses,
    admin_channels,
    admin_api_keys,
    admin_webhooks,
    admin_webhook_deliveries,
    admin_audit,
    login,
    embed,
    not_found,
)
