"""Imports: upload a vendor feed, check it (dry run), apply it, and the history of imports.

The page is put together here; its parts live beside it: `imports_flow` (upload, dry
run, apply), `imports_mapping` (the mapping editor) and `imports_history`.
"""

from __future__ import annotations

import reflex as rx

from dashboard import routes
from dashboard.components.blocks import column, notice
from dashboard.components.layout import app_shell
from dashboard.pages.imports_flow import workspace
from dashboard.pages.imports_history import history, revert_dialog, run_errors_dialog
from dashboard.pages.imports_mapping import mapping_dialog
from dashboard.registry import Nav, page
from dashboard.states.auth import AuthState
from dashboard.states.imports import ImportsState

TITLE = "Imports"
S = ImportsState


def _read_only_note() -> rx.Component:
    return rx.callout(
        "Managers read the import history. Brands' staff, merchandisers and admins upload "
        "and apply feeds.",
        icon="eye", color_scheme="gray", size="1", width="100%", data_testid="read-only-note",
    )


def _description() -> rx.Component:
    return rx.text(
        rx.cond(
            S.is_vendor,
            "Upload " + AuthState.brand_name + "'s CSV feeds: check what they would change, "
            "then apply.",
            rx.cond(
                S.can_import | ~S.loaded,
                "Upload a brand's CSV feed, check what it would change, then apply it.",
                "What brands' CSV feeds changed: who imported which file, when, and how it went.",
            ),
        ),
        size="2", color_scheme="gray",
    )


@page(
    routes.IMPORTS,
    TITLE,
    perm="imports.read",
    load=S.load,
    nav=Nav("Imports", "file-up"),
    shell=False,  # the description depends on who is signed in: drawn here
)
def imports_page() -> rx.Component:
    return app_shell(
        column(
            notice(S.load_error),
            rx.cond(S.can_import, workspace(), rx.cond(S.loaded, _read_only_note())),
            history(),
            mapping_dialog(),
            run_errors_dialog(),
            revert_dialog(),
            gap="5",
        ),
        title=TITLE, route=routes.IMPORTS, description=_description(),
    )
