"""Configuring connectors (set, pause, resume, reschedule, request a run), and claiming a
brand for one run at a time."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    or_,
    select,
    update,
)
from sqlmodel import Session

from models.audit import SYSTEM, diff, fields_of, record
from models.base import utcnow
from models.catalog import Brand, brand_by_code
from models.errors import InvalidQuantity, NotFound
from models.syncs.config import check_mapping, check_url, parse_every
from models.syncs.tables import (
    ConflictPolicy,
    Connector,
    ConnectorStyle,
    InvalidConnector,
    SyncRun,
    SyncStatus,
)
from models.syncs.views import ConnectorView, _connector_view

# --- configuration and actions --------------------------------------------------------


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


#: Pass as `token` to keep the stored one.
UNCHANGED: Any = _Unchanged()


def set_connector(
    session: Session,
    brand_code: str,
    *,
    style: ConnectorStyle | str | None = None,
    url: str | None = None,
    token: str | _Unchanged | None = UNCHANGED,
    every: str | int | None = None,
    policy: ConflictPolicy | str | None = None,
    page_size: int | None = None,
    mapping: dict[str, Any] | None = None,
    auth_header: str | None = None,
    actor: str = SYSTEM,
) -> ConnectorView:
    """Create or update a brand's connector; what is not given stays as it was.

    A new connector needs `style` and `url`. Changing the URL, style or mapping forgets
    the stored ETag / Last-Modified, since they described another feed.
    """
    brand = brand_by_code(session, brand_code.strip().upper())
    connector = session.scalar(select(Connector).where(Connector.brand_id == brand.id))
    creating = connector is None
    if creating:
        if style is None or url is None:
            raise InvalidConnector(
                f"Brand {brand.code} has no connector yet: give --style and --url.",
                brand=brand.code,
            )
        connector = Connector(brand_id=brand.id, style=ConnectorStyle(style).value, url="")
    before = {} if creating else fields_of(connector, *_AUDITED)
    reset_validators = False
    if style is not None:
        try:
            value = ConnectorStyle(style).value
        except ValueError:
            raise InvalidConnector(f"Style must be json or csv, not {style!r}.") from None
        reset_validators |= value != connector.style
        connector.style = value
    if url is not None:
        value = check_url(url)
        reset_validators |= value != connector.url
        connector.url = value
    if not isinstance(token, _Unchanged):
        token = (token or "").strip() or None
        if token is not None and (len(token) > 2000 or any(c in token for c in "\r\n")):
            raise InvalidConnector("The token must be one line of at most 2,000 characters.")
        connector.token = token
    if every is not None:
        connector.every_seconds = parse_every(every)
    if policy is not None:
        try:
            connector.policy = ConflictPolicy(policy).value
        except ValueError:
            raise InvalidConnector(f"Policy must be newest or platform, not {policy!r}.") from None
    if page_size is not None:
        if (
            isinstance(page_size, bool)
            or not isinstance(page_size, int)
            or not (1 <= page_size <= 10_000)
        ):
            raise InvalidQuantity("Page size must be 1 to 10,000.", field="page_size")
        connector.page_size = page_size
    if mapping is not None:
        value = check_mapping(mapping)
        reset_validators |= value != (connector.mapping or {})
        connector.mapping = value
    if auth_header is not None:
        header = auth_header.strip()
        if not re.fullmatch(r"[A-Za-z0-9-]{1,100}", header):
            raise InvalidConnector(f"{auth_header!r} is not a header name.", field="auth_header")
        connector.auth_header = header
    if reset_validators:
        connector.etag = None
        connector.last_modified = None
    connector.updated_at = utcnow()
    session.add(connector)
    session.flush()
    _audit(
        session,
        actor,
        "connector.created" if creating else "connector.updated",
        connector,
        brand,
        diff(before, fields_of(connector, *_AUDITED)),
    )
    return _connector_view(connector, brand)


#: The connector settings the audit log follows (`token` is recorded only as replaced).
_AUDITED = (
    "style",
    "url",
    "token",
    "every_seconds",
    "policy",
    "page_size",
    "mapping",
    "auth_header",
    "paused",
)


def _audit(
    session: Session,
    actor: str,
    action: str,
    connector: Connector,
    brand: Brand,
    changes: dict[str, Any],
) -> None:
    if changes or not action.endswith(".updated"):
        record(
            session,
            actor,
            action,
            target_type="connector",
            target_id=connector.id,
            label=brand.code,
            changes=changes,
        )


def connector_for(session: Session, brand_code: str) -> tuple[Connector, Brand]:
    brand = brand_by_code(session, brand_code.strip().upper())
    connector = session.scalar(select(Connector).where(Connector.brand_id == brand.id))
    if connector is None:
        raise NotFound(
            f"Brand {brand.code} has no connector: rackroom connector set {brand.code} "
            "--style json --url URL",
            brand=brand.code,
        )
    return connector, brand


def get_connector(session: Session, brand_code: str) -> ConnectorView:
    connector, brand = connector_for(session, brand_code)
    return _connector_view(connector, brand)


def list_connectors(session: Session) -> list[ConnectorView]:
    rows = session.execute(
        select(Connector, Brand).join(Brand, Brand.id == Connector.brand_id).order_by(Brand.code)
    ).all()
    return [_connector_view(c, b) for c, b in rows]


def pause_sync(session: Session, brand_code: str, *, actor: str = SYSTEM) -> ConnectorView:
    """Stop scheduled runs (a run in progress finishes); "run now" still works."""
    connector, brand = connector_for(session, brand_code)
    changes = diff({"paused": connector.paused}, {"paused": True})
    connector.paused = True
    connector.updated_at = utcnow()
    session.flush()
    _audit(session, actor, "connector.updated", connector, brand, changes)
    return _connector_view(connector, brand)


def resume_sync(session: Session, brand_code: str, *, actor: str = SYSTEM) -> ConnectorView:
    connector, brand = connector_for(session, brand_code)
    changes = diff({"paused": connector.paused}, {"paused": False})
    connector.paused = False
    connector.updated_at = utcnow()
    session.flush()
    _audit(session, actor, "connector.updated", connector, brand, changes)
    return _connector_view(connector, brand)


def reschedule_sync(
    session: Session, brand_code: str, every: str | int, *, actor: str = SYSTEM
) -> ConnectorView:
    connector, brand = connector_for(session, brand_code)
    before = {"every_seconds": connector.every_seconds}
    connector.every_seconds = parse_every(every)
    connector.updated_at = utcnow()
    session.flush()
    changes = diff(before, {"every_seconds": connector.every_seconds})
    _audit(session, actor, "connector.updated", connector, brand, changes)
    return _connector_view(connector, brand)


def request_sync(session: Session, brand_code: str) -> ConnectorView:
    """Ask the scheduler (wherever it runs) to sync this brand within seconds."""
    connector, brand = connector_for(session, brand_code)
    connector.run_requested_at = utcnow()
    session.flush()
    return _connector_view(connector, brand)


def delete_connector(session: Session, brand_code: str, *, actor: str = SYSTEM) -> None:
    """Remove the connector; its run history stays."""
    connector, brand = connector_for(session, brand_code)
    _audit(session, actor, "connector.deleted", connector, brand, {"url": connector.url})
    session.delete(connector)
    session.flush()


# --- claiming a brand for one run -----------------------------------------------------

_connector = Connector.__table__
_run = SyncRun.__table__


def claim_connector(
    session: Session, connector_id: int, *, now: datetime, stale_after: timedelta
) -> bool:
    """Mark the connector as running unless another run holds it (one guarded UPDATE).

    A claim older than `stale_after` (its process died) may be taken over.
    """
    result = session.execute(
        update(_connector)
        .where(
            _connector.c.id == connector_id,
            or_(
                _connector.c.running_since.is_(None),
                _connector.c.running_since < now - stale_after,
            ),
        )
        .values(running_since=now, run_requested_at=None)
    )
    return result.rowcount == 1


def release_connector(session: Session, connector_id: int, **values: Any) -> None:
    session.execute(
        update(_connector)
        .where(_connector.c.id == connector_id)
        .values(running_since=None, **values)
    )


def close_abandoned_runs(session: Session, *, older_than: datetime) -> int:
    """Runs still "running" that started before `older_than`: their process died."""
    result = session.execute(
        update(_run)
        .where(_run.c.status == SyncStatus.RUNNING.value, _run.c.started_at < older_than)
        .values(
            status=SyncStatus.ABANDONED.value,
            finished_at=utcnow(),
            failure="internal",
            message="The process running this sync stopped before it finished.",
        )
    )
    session.execute(
        update(_connector).where(_connector.c.running_since < older_than).values(running_since=None)
    )
    return result.rowcount
