"""Every event to RabbitMQ (`RACKROOM_AMQP_URL`): the durable topic exchange
`rackroom.events`, routing key `{type}.{brand code}` (e.g. `stock.changed.NRD`),
persistent messages, publisher confirms.

The publisher follows the relay's horizon with its own cursor and moves it only after
the broker has confirmed every message up to it. A broker that is down costs nothing
but a log line per attempt: events wait in the outbox (their retention is counted from
when they were written, so an outage longer than `RACKROOM_EVENT_RETENTION` loses the
oldest) and go out, in order, when it is back. A process killed between publishing and
moving the cursor publishes those again on restart: consumers deduplicate by
`message_id` (`evt_<id>`, the webhooks' `webhook-id`).

Publishing starts at the relay's position when the cursor is first made, not with the
whole retained history.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from sqlalchemy import Engine, select

from jobs import metrics
from jobs.events import cursors
from jobs.events.delivery import message_id
from models.db import read_session, transaction
from models.events import Event

log = logging.getLogger("rackroom.amqp")

EXCHANGE = "rackroom.events"
BATCH = 500
_event = Event.__table__


def routing_key(event_type: str, data: dict[str, Any]) -> str:
    brand = str(data.get("brand") or "_").replace(".", "_").replace("#", "_").replace("*", "_")
    return f"{event_type}.{brand}"


class Publisher:
    """Publishes new events in order; `publish_once` sends one batch (call it often)."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        self.postgres = engine.dialect.name == "postgresql"
        self._connection: BlockingConnection | None = None
        self._channel: BlockingChannel | None = None

    def _open(self) -> BlockingChannel:
        if self._channel is not None and self._channel.is_open:
            return self._channel
        self.close()
        parameters = pika.URLParameters(self.url)
        parameters.connection_attempts = 1
        parameters.socket_timeout = 5
        parameters.blocked_connection_timeout = 30
        parameters.client_properties = {"connection_name": "rackroom-relay"}
        self._connection = pika.BlockingConnection(parameters)
        channel = self._connection.channel()
        channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
        channel.confirm_delivery()
        self._channel = channel
        return channel

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except Exception:  # already broken
                log.debug("closing the AMQP connection failed", exc_info=True)

    def publish_once(self) -> int:
        """Publish the next batch; returns how many were confirmed. Raises when the broker
        cannot be reached or refuses (nothing is lost: the cursor has not moved)."""
        with read_session(self.engine) as session:
            horizon = cursors.horizon(session)
            known = cursors.position(session, cursors.AMQP)
        if known is None:
            with transaction(self.engine) as session:
                cursors.ensure(session, cursors.AMQP, start=horizon)
            return 0
        if known >= horizon:
            return 0
        if self.postgres:  # one publisher at a time: hold the cursor row while sending
            with transaction(self.engine) as session:
                start = cursors.lock(session, cursors.AMQP)
                if start is None:
                    return 0
                sent = self._publish(session, start, horizon)
                return sent
        with read_session(self.engine) as session:
            rows = self._rows(session, known, horizon)
        sent, last = self._send(rows)
        if last is not None:
            with transaction(self.engine) as session:
                cursors.move(session, cursors.AMQP, last)
        return sent

    def _rows(self, session, start: int, horizon: int):
        return session.execute(
            select(_event.c.id, _event.c.type, _event.c.occurred_at, _event.c.data)
            .where(_event.c.id > start, _event.c.id <= horizon)
            .order_by(_event.c.id)
            .limit(BATCH)
        ).all()

    def _publish(self, session, start: int, horizon: int) -> int:
        rows = self._rows(session, start, horizon)
        sent, last = self._send(rows)
        if last is not None:
            cursors.move(session, cursors.AMQP, last)
        return sent

    def _send(self, rows) -> tuple[int, int | None]:
        if not rows:
            return 0, None
        channel = self._open()
        for row in rows:
            body = json.dumps(
                {
                    "id": message_id(row.id),
                    "type": row.type,
                    "timestamp": row.occurred_at.isoformat(),
                    "data": row.data,
                },
                separators=(",", ":"),
            ).encode()
            # With confirms on, basic_publish returns once the broker has confirmed the
            # message (persisted, as it is persistent and the exchange durable) and
            # raises if it nacks or returns it.
            channel.basic_publish(
                EXCHANGE,
                routing_key(row.type, row.data),
                body,
                pika.BasicProperties(
                    content_type="application/json",
                    delivery_mode=pika.DeliveryMode.Persistent,
                    message_id=message_id(row.id),
                    type=row.type,
                    timestamp=int(row.occurred_at.timestamp()),
                ),
            )
        metrics.AMQP_PUBLISHED.inc(len(rows))
        return len(rows), rows[-1].id
