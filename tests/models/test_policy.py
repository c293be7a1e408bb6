"""The one permission table: what each role may do, and the domain's check against it."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from models.db import transaction
from models.errors import PermissionDenied
from models.policy import PERMISSIONS, actor_may, allows, refusal, roles_for, who_may
from models.users import Role, create_user


def test_every_action_names_its_area_and_allows_someone():
    for action, entry in PERMISSIONS.items():
        area, _, verb = action.partition(".")
        assert area and verb, action
        assert entry.roles, action
        assert entry.phrase and not entry.phrase.endswith("."), action


def test_what_each_role_may_do():
    assert allows("admin", "admin.users") and not allows("manager", "admin.users")
    assert allows("manager", "transfers.approve")
    assert not allows("merchandiser", "transfers.approve")
    assert allows("merchandiser", "stock.correct") and not allows("manager", "stock.correct")
    assert allows(Role.VENDOR, "imports.run") and not allows(Role.MANAGER, "imports.run")
    # Vendors get no staff-only action (transfers, alerts, admin).
    vendor_may = {a for a in PERMISSIONS if allows("vendor", a)}
    assert not {a for a in vendor_may if a.split(".")[0] in {"transfers", "alerts", "admin"}}
    # Unknown and empty roles may do nothing; unknown actions are programming errors.
    assert not allows("", "stock.read") and not allows(None, "stock.read")
    assert not allows("root", "stock.read")
    with pytest.raises(KeyError, match="No permission named"):
        allows("admin", "stock.teleport")


def test_words_of_a_refusal():
    assert refusal("manager", "transfers.ship") == "You don't have permission to ship transfers."
    assert refusal("merchandiser", "transfers.ship") == ""
    assert roles_for("transfers.approve") == ("admin", "manager")
    assert who_may("transfers.approve") == "admins or managers"
    assert who_may("alerts.work") == "admins, managers and merchandisers"


def test_the_domain_refuses_inactive_and_unauthorised_actors(sqlite_engine: Engine):
    with transaction(sqlite_engine) as session:
        manager = create_user(session, "m@x.test", "long enough", "manager")
        gone = create_user(session, "g@x.test", "long enough", "admin")
        gone.is_active = False
        session.flush()
        assert actor_may(session, manager.id, "transfers.approve") is manager
        with pytest.raises(PermissionDenied, match="Only admins or merchandisers may ship"):
            actor_may(session, manager.id, "transfers.ship")
        with pytest.raises(PermissionDenied, match="active account"):
            actor_may(session, gone.id, "admin.users")
        with pytest.raises(PermissionDenied, match="active account"):
            actor_may(session, None, "stock.read")
