"""Reservations per second through the domain operation vs the raw SQL ceiling.

The raw ceiling is what PostgreSQL does with no application around it: per
transaction one guarded `UPDATE … WHERE on_hand - reserved >= qty` and one ledger
INSERT, over plain psycopg. Ours is `models.reservations.reserve` in a
`models.db.transaction`, with its idempotency row, allocation and ledger. Both run
in this process, in the same run, at 1, 4 and 16 client threads.

    DATABASE_URL=postgresql+psycopg://…/empty_db python bench/reservations.py [--scale small]
"""

from __future__ import annotations

import random

from _common import bench_engine, best_of, emit, insert_variants, parse_args, run_clients
from sqlalchemy import insert, text

from models.catalog import Product, create_brand, create_warehouse
from models.db import transaction
from models.reservations import reserve
from models.stock import LedgerEntry, StockBalance

CLIENTS = (1, 4, 16)


def build(engine, variants: int) -> tuple[list[int], int]:
    with transaction(engine) as session:
        brand = create_brand(session, "BENCH", "Bench")
        warehouse = create_warehouse(session, "BWH", "Bench warehouse", priority=1)
        product = Product(brand_id=brand.id, style_code="B1", name="Bench tee")
        session.add(product)
        session.flush()
        insert_variants(session, brand.id, [f"BENCH-{i:06d}" for i in range(variants)],
                        lambda _n: product.id, brand.created_at)
        ids = list(session.scalars(text("SELECT id FROM variant ORDER BY id")))
        now = brand.created_at
        session.execute(
            insert(StockBalance.__table__),
            [
                {
                    "variant_id": v,
                    "warehouse_id": warehouse.id,
                    "on_hand": 10_000_000,
                    "reserved": 0,
                    "incoming": 0,
                    "updated_at": now,
                }
                for v in ids
            ],
        )
        session.execute(
            insert(LedgerEntry.__table__),
            [
                {
                    "variant_id": v,
                    "warehouse_id": warehouse.id,
                    "on_hand_delta": 10_000_000,
                    "reserved_delta": 0,
                    "incoming_delta": 0,
                    "reason": "receipt",
                    "actor": "bench",
                    "created_at": now,
                }
                for v in ids
            ],
        )
        return ids, warehouse.id


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    seconds = 3.0 if args.scale == "small" else 8.0
    runs = 1 if args.scale == "small" else 3
    engine = bench_engine(pool_size=max(CLIENTS) + 2)
    if engine.dialect.name != "postgresql":
        print("note: this benchmark is meant for PostgreSQL; running on", engine.dialect.name)
    variant_ids, warehouse_id = build(engine, 1_000 if args.scale == "small" else 20_000)
    rng = random.Random(1)
    picks = [rng.choice(variant_ids) for _ in range(1 << 16)]
    run = [0]

    def ours(client: int, i: int) -> None:
        variant = picks[(client * 7919 + i) & 0xFFFF]
        with transaction(engine) as session:
            reserve(
                session,
                variant,
                1,
                channel="bench",
                order_ref=f"r{run[0]}-{client}-{i}",
                actor="bench",
            )

    raw_connections = {}

    def raw(client: int, i: int) -> None:
        conn = raw_connections.get(client)
        if conn is None:
            conn = raw_connections[client] = engine.raw_connection()
        variant = picks[(client * 7919 + i) & 0xFFFF]
        cur = conn.cursor()
        cur.execute(
            "UPDATE stock_balance SET reserved = reserved + %s, updated_at = now() "
            "WHERE variant_id = %s AND warehouse_id = %s AND on_hand - reserved >= %s "
            "RETURNING on_hand, reserved",
            (1, variant, warehouse_id, 1),
        ) if engine.dialect.name == "postgresql" else None
        if engine.dialect.name == "postgresql":
            cur.fetchone()
            cur.execute(
                "INSERT INTO stock_ledger (variant_id, warehouse_id, on_hand_delta, reserved_delta,"
                " incoming_delta, reason, reference, actor, created_at)"
                " VALUES (%s, %s, 0, %s, 0, 'reserve', %s, 'bench', now())",
                (variant, warehouse_id, 1, f"raw-{client}-{i}"),
            )
        else:
            cur.execute("BEGIN IMMEDIATE")
            cur.execute(
                "UPDATE stock_balance SET reserved = reserved + ? WHERE variant_id = ? AND "
                "warehouse_id = ? AND on_hand - reserved >= ? RETURNING on_hand, reserved",
                (1, variant, warehouse_id, 1),
            )
            cur.fetchone()
            cur.execute(
                "INSERT INTO stock_ledger (variant_id, warehouse_id, on_hand_delta, reserved_delta,"
                " incoming_delta, reason, reference, actor, created_at)"
                " VALUES (?, ?, 0, ?, 0, 'reserve', ?, 'bench', CURRENT_TIMESTAMP)",
                (variant, warehouse_id, 1, f"raw-{client}-{i}"),
            )
        conn.commit()

    result = {"bench": "reservations", "scale": args.scale, "database": engine.dialect.name}
    print(f"{'clients':>8} {'ours tx/s':>12} {'raw tx/s':>12} {'ratio':>7}")
    for clients in CLIENTS:

        def measure_ours(clients=clients) -> float:
            run[0] += 1
            return run_clients(clients, seconds, ours)

        # Warm both sides at this client count first: the pool's new connections (and
        # their prepared statements) would otherwise count against whichever runs first.
        run[0] += 1
        run_clients(clients, seconds / 6, ours)
        run_clients(clients, seconds / 6, raw)
        ours_rate = best_of(runs, measure_ours)
        raw_rate = best_of(runs, lambda clients=clients: run_clients(clients, seconds, raw))
        ratio = ours_rate / raw_rate
        print(f"{clients:>8} {ours_rate:>12,.0f} {raw_rate:>12,.0f} {ratio:>7.2f}")
        result[f"ours_{clients}"] = round(ours_rate)
        result[f"raw_{clients}"] = round(raw_rate)
        result[f"ratio_{clients}"] = round(ratio, 3)
    for conn in raw_connections.values():
        conn.close()
    result["ratio"] = result[f"ratio_{max(CLIENTS)}"]
    emit(result)


if __name__ == "__main__":
    main()
