"""Acknowledge or snooze many alerts at once, all or nothing.

A bulk action either changes every alert it is given or none: one that is missing,
outside the caller's brand, already resolved or otherwise not in a state the action
applies to refuses the whole batch with `AlertsRefused`, naming each id and why. A
silent skip would leave the person believing alerts were handled that were not (a
selection goes stale when somebody else works the inbox, or the engine resolves an
alert, between loading the page and pressing the button).

The columns written and the permission checked are the single-alert paths' own
(`acknowledge_values`, `snooze_values`, `alerts.work`); neither writes events or audit
rows, so a bulk action does not either.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import select, update
from sqlmodel import Session

from models.alerts.inbox import (
    ACKNOWLEDGE_FROM,
    SNOOZE_FROM,
    acknowledge_values,
    snooze_values,
)
from models.alerts.tables import BATCH_MAX, AlertStatus, _alert
from models.errors import Conflict, InvalidQuantity
from models.policy import actor_may

__all__ = ["BATCH_MAX", "AlertsRefused", "acknowledge_many", "snooze_many"]

NOT_FOUND = "not found"
OUT_OF_SCOPE = "outside your brand"
RESOLVED = "already resolved"


class AlertsRefused(Conflict):
    """A bulk action refused as a whole; `refused` maps each offending id to why (a
    conflict with the alerts' present state, should an API ever offer bulk actions)."""

    code = "alerts_refused"

    def __init__(self, verb: str, refused: dict[int, str]) -> None:
        self.refused = dict(sorted(refused.items()))
        shown = list(self.refused.items())[:10]
        listed = "; ".join(f"#{i} {why}" for i, why in shown)
        more = f"; and {len(self.refused) - len(shown)} more" if len(self.refused) > 10 else ""
        super().__init__(
            f"Nothing was {verb}: {len(self.refused)} of the chosen alerts cannot be "
            f"({listed}{more}).",
            refused=self.refused,
        )


def _ids(ids: Iterable[int]) -> list[int]:
    chosen = sorted({int(i) for i in ids})
    if not chosen:
        raise InvalidQuantity("Choose at least one alert.", field="ids")
    if len(chosen) > BATCH_MAX:
        raise InvalidQuantity(
            f"At most {BATCH_MAX} alerts at once; {len(chosen)} chosen.", field="ids"
        )
    return chosen


def _apply(
    session: Session,
    ids: list[int],
    allowed_from: tuple[AlertStatus, ...],
    verb: str,
    brand_scope: int | None,
    values: dict[str, object],
) -> list[int]:
    # Lock in id order first, as the alert engine does, so the two cannot deadlock.
    current = {
        alert_id: (status, brand_id)
        for alert_id, status, brand_id in session.execute(
            select(_alert.c.id, _alert.c.status, _alert.c.brand_id)
            .where(_alert.c.id.in_(ids))
            .order_by(_alert.c.id)
            .with_for_update()
        )
    }
    allowed = {s.value for s in allowed_from}
    refused: dict[int, str] = {}
    for alert_id in ids:
        if alert_id not in current:
            refused[alert_id] = NOT_FOUND
            continue
        status, brand_id = current[alert_id]
        if brand_scope is not None and brand_id != brand_scope:
            refused[alert_id] = OUT_OF_SCOPE
        elif status == AlertStatus.RESOLVED.value:
            refused[alert_id] = RESOLVED
        elif status not in allowed:
            refused[alert_id] = f"already {status}"
    if refused:
        raise AlertsRefused(verb, refused)
    # The status guard again in the UPDATE: SQLite has no row locks, so count what changed
    # and undo the savepoint should anything have moved since the read.
    savepoint = session.begin_nested()
    changed = list(
        session.scalars(
            update(_alert)
            .where(_alert.c.id.in_(ids), _alert.c.status.in_(allowed))
            .values(**values)
            .returning(_alert.c.id)
        )
    )
    if len(changed) != len(ids):
        savepoint.rollback()
        raise AlertsRefused(verb, {i: "changed meanwhile" for i in ids if i not in set(changed)})
    savepoint.commit()
    session.expire_all()
    return sorted(changed)


def acknowledge_many(
    session: Session,
    ids: Iterable[int],
    *,
    actor_id: int,
    brand_scope: int | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Acknowledge every alert in `ids` (open or snoozed ones), or none; the ids changed."""
    user = actor_may(session, actor_id, "alerts.work")
    chosen = _ids(ids)
    values = acknowledge_values(user, now)
    return _apply(session, chosen, ACKNOWLEDGE_FROM, "acknowledged", brand_scope, values)


def snooze_many(
    session: Session,
    ids: Iterable[int],
    *,
    until: datetime | date,
    actor_id: int,
    brand_scope: int | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Snooze every alert in `ids` until `until` (unresolved ones), or none; the ids changed."""
    user = actor_may(session, actor_id, "alerts.work")
    chosen = _ids(ids)
    values = snooze_values(user, until, now)
    return _apply(session, chosen, SNOOZE_FROM, "snoozed", brand_scope, values)
