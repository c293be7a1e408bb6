"""Brand syncs: per-brand connectors, the record of every run, and what each source last said.

A `Connector` says where a brand's stock feed lives and how to read it. Its token is
a secret the sync must send, so it cannot be hashed: it is stored Fernet-encrypted
(`models.secrets`, column token_enc) and never shown back: views carry `token_set` only.

A `SyncRun` is one attempt to bring a brand up to date. It is written "running" when
the run starts (so a page can show it), and finished in the same transaction as the
changes it applied, so a run is either applied with its record or not applied at all.

`SyncItemState` keeps the last reading each source gave per balance (quantity and the
source's own timestamp): the conflict policies compare against it.

The functions at the end are what a page or the CLI needs: health per brand (last
success, staleness, next run, recent runs, errors), run records, and the actions
(configure, pause, resume, reschedule, ask for a run now).
"""

from models.syncs.config import (
    MAX_EVERY_SECONDS,
    MIN_EVERY_SECONDS,
    check_mapping,
    check_url,
    format_every,
    parse_every,
)
from models.syncs.connectors import (
    UNCHANGED,
    claim_connector,
    close_abandoned_runs,
    connector_for,
    delete_connector,
    get_connector,
    list_connectors,
    pause_sync,
    release_connector,
    request_sync,
    reschedule_sync,
    resume_sync,
    set_connector,
)
from models.syncs.health import (
    brand_item_states,
    fast_rows,
    get_run,
    recent_runs,
    sync_health,
    sync_job_id,
)
from models.syncs.tables import (
    MAPPING_KEYS,
    SUCCESSFUL,
    ConflictPolicy,
    Connector,
    ConnectorStyle,
    InvalidConnector,
    SyncBusy,
    SyncItemState,
    SyncRun,
    SyncStatus,
)
from models.syncs.views import BrandSyncHealth, ConnectorView, SyncRunView

__all__ = [
    "MAPPING_KEYS",
    "MAX_EVERY_SECONDS",
    "MIN_EVERY_SECONDS",
    "SUCCESSFUL",
    "UNCHANGED",
    "BrandSyncHealth",
    "ConflictPolicy",
    "Connector",
    "ConnectorStyle",
    "ConnectorView",
    "InvalidConnector",
    "SyncBusy",
    "SyncItemState",
    "SyncRun",
    "SyncRunView",
    "SyncStatus",
    "brand_item_states",
    "check_mapping",
    "check_url",
    "claim_connector",
    "close_abandoned_runs",
    "connector_for",
    "delete_connector",
    "fast_rows",
    "format_every",
    "get_connector",
    "get_run",
    "list_connectors",
    "parse_every",
    "pause_sync",
    "recent_runs",
    "release_connector",
    "request_sync",
    "reschedule_sync",
    "resume_sync",
    "set_connector",
    "sync_health",
    "sync_job_id",
]
