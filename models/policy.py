"""Who may do what: one table of actions and the roles allowed each.

Every permission in Rackroom is read from `PERMISSIONS`: the dashboard's handlers (a
decorator that checks and refuses), its page gates and sidebar, and the domain's own
checks (`actor_may`). An action is named `area.verb` (`transfers.approve`); its entry
says which roles may do it and how a refusal names it ("approve transfers").

Roles are not the whole story for vendors: a vendor may read stock, imports,
analytics and demand, but only their own brand's — the operations take a
`brand_scope` and enforce it. This table answers only "may this role do this at all".
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from models.errors import PermissionDenied
from models.users import Role, User

ADMIN, MERCHANDISER, MANAGER, VENDOR = Role.ADMIN, Role.MERCHANDISER, Role.MANAGER, Role.VENDOR
EVERYONE = frozenset(Role)
STAFF = frozenset({ADMIN, MERCHANDISER, MANAGER})
MOVERS = frozenset({ADMIN, MERCHANDISER})
ADMINS = frozenset({ADMIN})


@dataclass(frozen=True, slots=True)
class Permission:
    """The roles allowed an action, and the words a refusal uses for it."""

    roles: frozenset[Role]
    #: "approve transfers": reads after "You don't have permission to".
    phrase: str


#: Every action, in the order of the sidebar's sections.
PERMISSIONS: dict[str, Permission] = {
    "overview.read": Permission(EVERYONE, "see the stock figures"),
    "stock.read": Permission(EVERYONE, "see stock"),
    "stock.export": Permission(EVERYONE, "export stock"),
    "stock.correct": Permission(MOVERS, "correct stock counts"),
    "products.read": Permission(EVERYONE, "see products"),
    #: Vendors edit their own brand's catalogue (as they import it): the brand scope.
    "products.edit": Permission(EVERYONE, "edit product attributes"),
    "transfers.read": Permission(STAFF, "see transfers"),
    "transfers.create": Permission(MOVERS, "create transfers"),
    "transfers.edit": Permission(MOVERS, "edit transfers"),
    "transfers.submit": Permission(MOVERS, "submit transfers"),
    "transfers.approve": Permission(frozenset({ADMIN, MANAGER}), "approve transfers"),
    "transfers.ship": Permission(MOVERS, "ship transfers"),
    "transfers.receive": Permission(MOVERS, "receive transfers"),
    "transfers.cancel": Permission(STAFF, "cancel transfers"),
    "cycle_counts.count": Permission(STAFF, "count stock on cycle count sheets"),
    "cycle_counts.approve": Permission(frozenset({ADMIN, MANAGER}), "approve count variances"),
    "cycle_counts.plan": Permission(frozenset({ADMIN, MANAGER}), "change the count plan"),
    "alerts.read": Permission(STAFF, "see alerts"),
    "alerts.work": Permission(STAFF, "work the alert inbox"),
    "alerts.rules": Permission(STAFF, "change alert rules"),
    "replenishment.read": Permission(STAFF, "see replenishment"),
    "replenishment.export": Permission(STAFF, "download purchase lists"),
    "imports.read": Permission(EVERYONE, "see imports"),
    "imports.run": Permission(frozenset({ADMIN, MERCHANDISER, VENDOR}), "import files"),
    #: Those who may apply may undo; vendors only their own brand's (the brand scope).
    "imports.revert": Permission(frozenset({ADMIN, MERCHANDISER, VENDOR}), "revert imports"),
    "syncs.read": Permission(EVERYONE, "see brand syncs"),
    "syncs.run": Permission(MOVERS, "run brand syncs"),
    "syncs.manage": Permission(ADMINS, "change brand syncs"),
    "analytics.read": Permission(EVERYONE, "see analytics"),
    "analytics.export": Permission(EVERYONE, "export analytics"),
    "markdowns.read": Permission(frozenset({ADMIN, MANAGER, VENDOR}),
                                 "see markdown suggestions"),
    "markdowns.export": Permission(frozenset({ADMIN, MANAGER, VENDOR}),
                                   "export markdown suggestions"),
    "demand.read": Permission(EVERYONE, "see customer demand"),
    "demand.export": Permission(EVERYONE, "export demand"),
    "demand.manage": Permission(EVERYONE, "manage polls"),
    "account.read": Permission(EVERYONE, "see your account"),
    "account.password": Permission(EVERYONE, "change your password"),
    "admin.users": Permission(ADMINS, "manage users"),
    "admin.brands": Permission(ADMINS, "manage brands"),
    "admin.warehouses": Permission(ADMINS, "manage warehouses"),
    "admin.channels": Permission(ADMINS, "manage sales channels"),
    "admin.api_keys": Permission(ADMINS, "manage API keys"),
    "admin.webhooks": Permission(ADMINS, "manage webhooks"),
    "admin.audit": Permission(ADMINS, "see the audit log"),
}


def permission(action: str) -> Permission:
    """The table's entry for `action`; an unknown action is a programming error."""
    try:
        return PERMISSIONS[action]
    except KeyError:
        raise KeyError(f"No permission named {action!r} in models.policy.PERMISSIONS") from None


def allows(role: Role | str | None, action: str) -> bool:
    """Whether `role` may do `action`. An unknown or empty role may do nothing."""
    try:
        return Role(role) in permission(action).roles
    except ValueError:
        return False


def roles_for(action: str) -> tuple[str, ...]:
    """The roles allowed `action`, as their values, in the order of `Role`."""
    allowed = permission(action).roles
    return tuple(role.value for role in Role if role in allowed)


def refusal(role: Role | str | None, action: str) -> str:
    """Why `role` may not do `action` ("" when it may), in words for the person."""
    if allows(role, action):
        return ""
    return f"You don't have permission to {permission(action).phrase}."


def who_may(action: str) -> str:
    """ "admins or managers": the roles allowed `action`, for the domain's refusals."""
    names = sorted(role.value + "s" for role in permission(action).roles)
    if len(names) <= 2:
        return " or ".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def actor_may(session: Session, actor_id: int | None, action: str) -> User:
    """The active user `actor_id` when their role allows `action`; else PermissionDenied.

    The domain's own check: the dashboard refuses first, but an operation called from
    a script or a worker must not trust its caller either.
    """
    user = session.get(User, actor_id) if actor_id is not None else None
    if user is None or not user.is_active:
        raise PermissionDenied("Sign in with an active account.", action=action)
    if not allows(user.role, action):
        raise PermissionDenied(
            f"Only {who_may(action)} may {permission(action).phrase}; you are signed in "
            f"as {user.role}.",
            action=action,
            role=user.role,
        )
    return user
