"""The threads that move events out, beside the scheduler (in `python -m jobs`, and in the
web process under `make run`): the relay with the alert check, webhook delivery, and the
RabbitMQ publisher when `RACKROOM_AMQP_URL` is set. Every process runs them; the relay
and the publisher take turns through their cursor rows, deliveries are shared through
`SKIP LOCKED`, so starting more processes adds delivery capacity.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine

from jobs.events.alerts import check_from_events
from jobs.events.amqp import Publisher
from jobs.events.delivery import TIMEOUT, deliver_due
from jobs.events.relay import Relay
from jobs.outbound import guarded_client
from models.settings import settings

log = logging.getLogger("rackroom.events")

#: How long an idle loop waits before looking again.
IDLE_SECONDS = 0.5
SENDERS = 8
#: Deliveries claimed (and recorded) at a time.
BATCH = 128


class EventService:
    def __init__(self, engine: Engine, *, idle_seconds: float = IDLE_SECONDS) -> None:
        self.engine = engine
        self.idle_seconds = idle_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        amqp = settings().amqp_url
        self.publisher = Publisher(engine, amqp.get_secret_value()) if amqp else None
        self.relay = Relay(engine)

    def start(self) -> EventService:
        loops: list[tuple[str, Callable[[], int]]] = [
            ("event-relay", self._relay_step),
            ("webhook-delivery", self._delivery_step()),
        ]
        if self.publisher is not None:
            loops.append(("amqp-publisher", self.publisher.publish_once))
        for name, step in loops:
            thread = threading.Thread(target=self._loop, args=(name, step), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        if self.publisher is not None:
            self.publisher.close()

    def _relay_step(self) -> int:
        relayed = self.relay.run_once()
        return relayed + check_from_events(self.engine)

    def _delivery_step(self) -> Callable[[], int]:
        pool = ThreadPoolExecutor(SENDERS, thread_name_prefix="webhook-send")
        client = guarded_client(timeout=TIMEOUT)
        return lambda: deliver_due(self.engine, client=client, pool=pool, limit=BATCH)

    def _loop(self, name: str, step: Callable[[], int]) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                done = step()
                failures = 0
            except Exception as error:
                failures += 1
                wait = min(30.0, self.idle_seconds * 2**failures)
                if failures == 1 or failures % 20 == 0:
                    log.warning("%s failed (%s); retrying in %.1f s", name, error, wait)
                if self.publisher is not None and name == "amqp-publisher":
                    self.publisher.close()
                self._stop.wait(wait)
                continue
            if not done:
                self._stop.wait(self.idle_seconds)
