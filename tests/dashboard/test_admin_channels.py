"""Admin › Channels, its handlers called as an admin (the refusals for every other role
are in test_admin_states.py): create with warehouses in order, the domain's refusals
shown in the dialog with nothing written, edit, deactivate, and the audit trail."""

from __future__ import annotations

from sqlalchemy import func, select

from dashboard.states.admin_channels import AdminChannelsState
from models.audit import AuditEntry
from models.catalog import create_warehouse
from models.channels import Channel, list_channels
from models.db import read_session, transaction
from tests.dashboard.test_admin_states import call, page_state, rendered, world  # noqa: F401


def _listed(state: AdminChannelsState, code: str):
    return next(item for item in state.channels if item.code == code)


def _channels(engine) -> int:
    with read_session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(Channel)))


def test_an_admin_creates_edits_and_deactivates_a_channel(world):  # noqa: F811
    with transaction(world.engine) as session:
        create_warehouse(session, "MAN", "Manchester", priority=20)
        create_warehouse(session, "OLD", "Old store", priority=30).is_active = False
    state = page_state(AdminChannelsState, world.tokens["admin"])
    call(state, "load")
    assert state.summary == "1 channel"
    assert _listed(state, "web").warehouses == ["LDN"]

    call(state, "open_create")
    assert state.dialog == "create" and state.known_warehouses == "LDN, MAN"
    form = {"code": "eu", "name": "Europe", "warehouses": "man, nope", "allow_split": "on"}
    assert call(state, "create_channel", form) is None
    assert state.form_error == "No warehouse with code 'NOPE'."
    call(state, "create_channel", {**form, "warehouses": "MAN, OLD"})
    assert "Warehouse OLD is inactive" in state.form_error
    call(state, "create_channel", {**form, "warehouses": "MAN, LDN, man"})
    assert state.form_error == "Warehouse MAN is listed twice."
    state.form_strategy = "fastest"  # what a tampered client could set (setvar)
    call(state, "create_channel", {**form, "warehouses": "MAN, LDN"})
    assert "strategy must be one of priority, most-stock, nearest" in state.form_error
    assert _channels(world.engine) == 1 and state.dialog == "create"

    call(state, "set_form_strategy", "bogus")
    assert state.form_strategy == "fastest"  # the picker takes only real strategies
    call(state, "set_form_strategy", "nearest")
    done = call(state, "create_channel", {**form, "warehouses": "man, ldn"})
    assert "Created channel Europe (eu)" in rendered(done) and state.dialog == ""
    europe = _listed(state, "eu")
    assert (europe.warehouses, europe.strategy, europe.strategy_label, europe.allow_split) == (
        ["MAN", "LDN"],
        "nearest",
        "Nearest",
        True,
    )

    call(state, "open_edit", europe.id)
    assert (state.dialog, state.target_label, state.form_name) == ("edit", "eu", "Europe")
    assert (state.form_strategy, state.form_warehouses, state.form_split) == (
        "nearest",
        "MAN, LDN",
        True,
    )
    call(state, "set_form_strategy", "most-stock")
    saved = call(state, "save_channel", {"name": "Europe", "warehouses": "LDN,MAN"})
    assert "Saved Europe (eu)" in rendered(saved)
    europe = _listed(state, "eu")
    assert (europe.warehouses, europe.strategy, europe.allow_split) == (
        ["LDN", "MAN"],
        "most-stock",
        False,
    )

    call(state, "confirm_active", europe.id, False)
    assert state.dialog == "deactivate" and state.target_label == "Europe (eu)"
    call(state, "set_active")
    assert not _listed(state, "eu").active
    assert state.channels[-1].code == "eu"  # inactive ones last
    with read_session(world.engine) as session:
        row = next(r for r in list_channels(session) if r.code == "eu")
        assert (row.strategy, row.warehouses, row.is_active) == (
            "most-stock",
            ("LDN", "MAN"),
            False,
        )
        audit = session.execute(
            select(AuditEntry.action, AuditEntry.actor, AuditEntry.changes)
            .where(AuditEntry.target_type == "channel", AuditEntry.target_label == "eu")
            .order_by(AuditEntry.id)
        ).all()
    assert [(a.action, a.actor) for a in audit] == [
        ("channel.created", "admin@x.test"),
        ("channel.updated", "admin@x.test"),
        ("channel.updated", "admin@x.test"),
    ]
    assert audit[0].changes["warehouses"] == "MAN,LDN"
    assert set(audit[1].changes) == {"strategy", "allow_split", "warehouses"}
    assert set(audit[2].changes) == {"is_active"}
