"""What the outbox costs, and how fast webhooks go out.

1. Reservations per second through `models.reservations.reserve` with the outbox (the
   `stock.changed` and `reservation.created` events written in the same statement as
   the balance change) against the same run with event writing switched off
   (`models.events.writing_off`), at 16 client threads. `"ratio"` is with / without
   (aim ≥ 0.8).
2. Webhook deliveries per second to a local receiver (relay, signing, claiming with
   SKIP LOCKED, recording every attempt) beside raw httpx posts of the same bodies
   from as many threads.

    DATABASE_URL=postgresql+psycopg://…/empty_db python bench/events.py [--scale small]
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from _common import bench_engine, emit, parse_args, run_clients
from reservations import build
from sqlalchemy import func, select, text

from jobs.events.delivery import body_of, deliver_due
from jobs.events.relay import Relay
from jobs.outbound import guarded_client, parse_allow
from models.db import read_session, transaction
from models.events import Event, writing_off
from models.reservations import reserve
from models.webhooks import WebhookDelivery, create_endpoint

CLIENTS = 16
SENDERS = 8
BATCH = 128


def reservations(engine, variant_ids: list[int], seconds: float, rounds: int) -> dict:
    rng = random.Random(1)
    picks = [rng.choice(variant_ids) for _ in range(1 << 16)]
    run = [0]

    def ours(client: int, i: int) -> None:
        variant = picks[(client * 7919 + i) & 0xFFFF]
        with transaction(engine) as session:
            reserve(
                session, variant, 1, channel="bench", order_ref=f"e{run[0]}-{client}-{i}", actor="b"
            )

    def measure(events: bool) -> float:
        run[0] += 1
        if events:
            return run_clients(CLIENTS, seconds, ours)
        with writing_off():
            return run_clients(CLIENTS, seconds, ours)

    measure(True), measure(False)  # warm up both statement shapes
    on, off = [], []
    for k in range(rounds):  # alternate which goes first: the machine drifts
        for events in (True, False) if k % 2 == 0 else (False, True):
            (on if events else off).append(measure(events))
    with_events, without = statistics.median(on), statistics.median(off)
    print(
        f"reservations/s, {CLIENTS} clients: with events {with_events:,.0f}, "
        f"without {without:,.0f} (ratio {with_events / without:.2f})"
    )
    return {
        "reservations_with_events": round(with_events),
        "reservations_without_events": round(without),
        "ratio": round(with_events / without, 3),
    }


class _Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *_args) -> None:
        pass


def deliveries(engine, count: int) -> dict:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        relay = Relay(engine)
        catch_up(engine, relay)  # the reservations above: no endpoint wants them yet
        with transaction(engine) as session:
            create_endpoint(session, url, "reservation.*")
        variants = list(read_variants(engine))
        with transaction(engine) as session:
            for i in range(count):
                reserve(
                    session,
                    variants[i % len(variants)],
                    1,
                    channel="bench",
                    order_ref=f"hook-{i}",
                    actor="bench",
                )
        catch_up(engine, relay)
        with read_session(engine) as session:
            queued = session.scalar(select(func.count()).select_from(WebhookDelivery))
            bodies = [
                body_of(t, at, data)
                for t, at, data in session.execute(
                    select(Event.type, Event.occurred_at, Event.data).where(
                        Event.type == "reservation.created"
                    )
                )
            ]
        client = guarded_client(timeout=10, allow=parse_allow("127.0.0.1"))
        pool = ThreadPoolExecutor(SENDERS)
        started = time.perf_counter()
        while deliver_due(engine, client=client, pool=pool, limit=BATCH):
            pass
        ours = queued / (time.perf_counter() - started)
        with httpx.Client(timeout=10) as raw:

            def post(body: bytes) -> None:
                raw.post(url, content=body, headers={"content-type": "application/json"})

            started = time.perf_counter()
            list(pool.map(post, bodies))
            baseline = len(bodies) / (time.perf_counter() - started)
        pool.shutdown()
        client.close()
    finally:
        server.shutdown()
    print(f"webhook deliveries/s ({queued:,}): ours {ours:,.0f}, raw httpx posts {baseline:,.0f}")
    return {
        "deliveries_per_s": round(ours),
        "raw_posts_per_s": round(baseline),
        "delivery_ratio": round(ours / baseline, 3),
    }


def catch_up(engine, relay: Relay) -> None:
    """Relay until every event is relayed (a gap waits for the transactions in flight)."""
    while True:
        relay.run_once()
        with read_session(engine) as session:
            last = session.scalar(select(func.max(Event.id))) or 0
            at = session.scalar(text("SELECT position FROM event_cursor WHERE name = 'relay'"))
        if at >= last:
            return
        time.sleep(0.01)


def read_variants(engine) -> list[int]:
    with read_session(engine) as session:
        return list(session.scalars(text("SELECT id FROM variant ORDER BY id")))


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    small = args.scale == "small"
    engine = bench_engine(pool_size=CLIENTS + SENDERS + 4)
    if engine.dialect.name != "postgresql":
        print("note: this benchmark is meant for PostgreSQL; running on", engine.dialect.name)
    variant_ids, _warehouse = build(engine, 1_000 if small else 20_000)
    result = {"bench": "events", "scale": args.scale, "database": engine.dialect.name}
    result |= reservations(engine, variant_ids, 3.0 if small else 8.0, 2 if small else 3)
    result |= deliveries(engine, 1_000 if small else 5_000)
    emit(result)


if __name__ == "__main__":
    main()
