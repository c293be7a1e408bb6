"""Transfers on SQLite and PostgreSQL: every transition, every refusal, the ledger trail."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models.db import read_session, transaction
from models.errors import (
    InsufficientStock,
    InvalidQuantity,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from models.policy import allows
from models.reservations import reserve
from models.settings import reload_settings
from models.stock import LedgerEntry, get_balance, reconcile
from models.transfers import (
    LineInput,
    ReceiptLine,
    TransferPolicy,
    TransferStatus,
    approve_transfer,
    cancel_transfer,
    create_transfer,
    list_transfers,
    pick_list,
    receive_transfer,
    set_lines,
    ship_transfer,
    submit_transfer,
    transfer_counts,
    transfer_detail,
    transfer_timeline,
    units_in_transit,
)
from models.users import User
from tests.transfer_support import make_staff, stocked_world


@pytest.fixture
def setup(engine):
    world = stocked_world(engine, units=20)
    staff = make_staff(engine, world.brand_id)
    return engine, world, staff


def _draft(engine, world, staff, lines=None, source="WH1", dest="ST1"):
    lines = lines or [(world.variants["M"], 5), (world.variants["L"], 3)]
    with transaction(engine) as session:
        return create_transfer(
            session,
            source_warehouse_id=world.warehouses[source],
            dest_warehouse_id=world.warehouses[dest],
            lines=lines,
            actor_id=staff.merch,
            note="rebalance for the weekend",
        ).id


def _to(engine, world, staff, status: TransferStatus, **kwargs) -> int:
    """A transfer walked up to `status` by the proper people."""
    transfer_id = _draft(engine, world, staff, **kwargs)
    steps = [
        (TransferStatus.REQUESTED, submit_transfer, staff.merch),
        (TransferStatus.APPROVED, approve_transfer, staff.manager),
        (TransferStatus.IN_TRANSIT, ship_transfer, staff.merch2),
        (TransferStatus.RECEIVED, receive_transfer, staff.merch2),
    ]
    for reached, step, actor in steps:
        if status == TransferStatus.DRAFT:
            break
        with transaction(engine) as session:
            step(session, transfer_id, actor_id=actor)
        if reached == status:
            break
    return transfer_id


def _balances(engine, world):
    with read_session(engine) as session:
        return {
            (size, code): get_balance(session, v, w)
            for size, v in world.variants.items()
            for code, w in world.warehouses.items()
        }


def _ledger_count(engine) -> int:
    with read_session(engine) as session:
        return session.scalar(select(func.count()).select_from(LedgerEntry))


def _status(engine, transfer_id) -> str:
    with read_session(engine) as session:
        return transfer_detail(session, transfer_id).transfer.status


# --- the happy path, step by step -------------------------------------------------------


def test_full_lifecycle_moves_stock_through_incoming_with_a_ledger_trail(setup):
    engine, world, staff = setup
    m, l_ = world.variants["M"], world.variants["L"]
    wh1, st1 = world.warehouses["WH1"], world.warehouses["ST1"]
    transfer_id = _draft(engine, world, staff)
    assert _status(engine, transfer_id) == "draft"

    with transaction(engine) as session:
        assert submit_transfer(session, transfer_id, actor_id=staff.merch).status == "requested"
    with transaction(engine) as session:
        approved = approve_transfer(session, transfer_id, actor_id=staff.manager, note="ok")
        assert approved.status == "approved"
        assert approved.approved_by_id == staff.manager
    before_ship = _balances(engine, world)
    assert before_ship["M", "WH1"].on_hand == 20  # approval moves nothing

    with transaction(engine) as session:
        shipped = ship_transfer(session, transfer_id, actor_id=staff.merch2)
        assert shipped.status == "in_transit" and shipped.shipped_at is not None
    after_ship = _balances(engine, world)
    assert (after_ship["M", "WH1"].on_hand, after_ship["L", "WH1"].on_hand) == (15, 17)
    assert (after_ship["M", "ST1"].incoming, after_ship["L", "ST1"].incoming) == (5, 3)
    assert after_ship["M", "ST1"].on_hand == 20
    with read_session(engine) as session:
        assert units_in_transit(session, st1) == 8

    # M arrives short by one and with one damaged; L arrives in full.
    with transaction(engine) as session:
        received = receive_transfer(
            session,
            transfer_id,
            [ReceiptLine(m, received=3, damaged=1, short=1), ReceiptLine(l_, received=3)],
            actor_id=staff.merch2,
        )
        assert received.status == "received" and received.received_at is not None
    final = _balances(engine, world)
    assert (final["M", "ST1"].on_hand, final["M", "ST1"].incoming) == (23, 0)
    assert (final["L", "ST1"].on_hand, final["L", "ST1"].incoming) == (23, 0)
    assert final["M", "WH1"].on_hand == 15

    with read_session(engine) as session:
        assert reconcile(session) == []
        rows = session.execute(
            select(
                LedgerEntry.variant_id,
                LedgerEntry.warehouse_id,
                LedgerEntry.reason,
                LedgerEntry.on_hand_delta,
                LedgerEntry.incoming_delta,
                LedgerEntry.actor,
            )
            .where(LedgerEntry.reference == f"transfer:{transfer_id}")
            .order_by(LedgerEntry.id)
        ).all()
        assert [tuple(r[:5]) for r in rows] == [
            (m, wh1, "transfer_out", -5, 0),
            (m, st1, "transfer_in", 0, 5),
            (l_, wh1, "transfer_out", -3, 0),
            (l_, st1, "transfer_in", 0, 3),
            (m, st1, "transfer_in", 4, -4),
            (m, st1, "damaged", -1, 0),
            (m, st1, "lost", 0, -1),
            (l_, st1, "transfer_in", 3, -3),
        ]
        assert {r.actor for r in rows} == {"merch2@rackroom.test"}
        detail = transfer_detail(session, transfer_id)
        by_variant = {line.variant_id: line for line in detail.lines}
        assert (by_variant[m].received, by_variant[m].damaged, by_variant[m].short) == (3, 1, 1)
        assert by_variant[l_].received == 3 and by_variant[l_].outstanding == 0
        assert detail.requested_by == "merch@rackroom.test"
        assert detail.approved_by == "manager@rackroom.test"

        timeline = transfer_timeline(session, transfer_id)
    assert [(e.action, e.from_status, e.to_status, e.actor) for e in timeline] == [
        ("created", None, "draft", "merch@rackroom.test"),
        ("submitted", "draft", "requested", "merch@rackroom.test"),
        ("approved", "requested", "approved", "manager@rackroom.test"),
        ("shipped", "approved", "in_transit", "merch2@rackroom.test"),
        ("received", "in_transit", "received", "merch2@rackroom.test"),
    ]
    assert timeline[2].note == "ok"
    assert timeline[-1].note == "6 received, 1 damaged, 1 short"
    assert all(e.at.tzinfo is not None for e in timeline)
    assert [e.at for e in timeline] == sorted(e.at for e in timeline)


def test_receiving_without_lines_books_everything_in_full(setup):
    engine, world, staff = setup
    transfer_id = _to(engine, world, staff, TransferStatus.RECEIVED)
    final = _balances(engine, world)
    assert (final["M", "ST1"].on_hand, final["M", "ST1"].incoming) == (25, 0)
    assert (final["L", "ST1"].on_hand, final["L", "ST1"].incoming) == (23, 0)
    assert _status(engine, transfer_id) == "received"
    with read_session(engine) as session:
        assert reconcile(session) == []


def test_a_partial_receipt_keeps_the_transfer_in_transit_until_all_is_accounted(setup):
    engine, world, staff = setup
    m, l_ = world.variants["M"], world.variants["L"]
    transfer_id = _to(engine, world, staff, TransferStatus.IN_TRANSIT)
    with transaction(engine) as session:
        after = receive_transfer(
            session, transfer_id, [ReceiptLine(m, received=2)], actor_id=staff.merch, complete=False
        )
        assert after.status == "in_transit"
    mid = _balances(engine, world)
    assert (mid["M", "ST1"].on_hand, mid["M", "ST1"].incoming) == (22, 3)
    with transaction(engine) as session:
        done = receive_transfer(
            session,
            transfer_id,
            [ReceiptLine(m, received=3), ReceiptLine(l_, received=3)],
            actor_id=staff.merch,
            complete=False,  # everything is accounted for, so it completes anyway
        )
        assert done.status == "received"
    with read_session(engine) as session:
        actions = [e.action for e in transfer_timeline(session, transfer_id)]
        assert actions[-2:] == ["partially_received", "received"]
        assert reconcile(session) == []


def test_completing_a_receipt_counts_the_unbooked_remainder_as_short(setup):
    engine, world, staff = setup
    m = world.variants["M"]
    transfer_id = _to(engine, world, staff, TransferStatus.IN_TRANSIT)
    with transaction(engine) as session:
        receive_transfer(session, transfer_id, [ReceiptLine(m, received=4)], actor_id=staff.merch)
    final = _balances(engine, world)
    assert (final["M", "ST1"].on_hand, final["M", "ST1"].incoming) == (24, 0)
    assert (final["L", "ST1"].on_hand, final["L", "ST1"].incoming) == (20, 0)
    with read_session(engine) as session:
        lines = {x.variant_id: x for x in transfer_detail(session, transfer_id).lines}
        assert (lines[m].received, lines[m].short) == (4, 1)
        assert lines[world.variants["L"]].short == 3
        assert reconcile(session) == []


@pytest.mark.parametrize(
    "status", [TransferStatus.DRAFT, TransferStatus.REQUESTED, TransferStatus.APPROVED]
)
def test_cancel_from_every_state_before_shipping_moves_nothing(setup, status):
    engine, world, staff = setup
    transfer_id = _to(engine, world, staff, status)
    before, ledger = _balances(engine, world), _ledger_count(engine)
    with transaction(engine) as session:
        cancelled = cancel_transfer(session, transfer_id, actor_id=staff.manager, note="not needed")
        assert cancelled.status == "cancelled"
    assert _balances(engine, world) == before
    assert _ledger_count(engine) == ledger
    with read_session(engine) as session:
        last = transfer_timeline(session, transfer_id)[-1]
    assert (last.action, last.from_status, last.to_status) == (
        "cancelled",
        status.value,
        "cancelled",
    )


@pytest.mark.parametrize("status", [TransferStatus.IN_TRANSIT, TransferStatus.RECEIVED])
def test_cancel_after_shipping_is_refused(setup, status):
    engine, world, staff = setup
    transfer_id = _to(engine, world, staff, status)
    before = _balances(engine, world)
    with (
        pytest.raises(InvalidTransition, match="cancelled only when draft or requested"),
        transaction(engine) as session,
    ):
        cancel_transfer(session, transfer_id, actor_id=staff.merch)
    assert _balances(engine, world) == before
    assert _status(engine, transfer_id) == status.value


# --- transitions out of order ------------------------------------------------------------

OUT_OF_ORDER = [
    (TransferStatus.DRAFT, "approve"),
    (TransferStatus.DRAFT, "ship"),
    (TransferStatus.DRAFT, "receive"),
    (TransferStatus.REQUESTED, "submit"),
    (TransferStatus.REQUESTED, "ship"),
    (TransferStatus.REQUESTED, "receive"),
    (TransferStatus.APPROVED, "submit"),
    (TransferStatus.APPROVED, "approve"),
    (TransferStatus.APPROVED, "receive"),
    (TransferStatus.IN_TRANSIT, "submit"),
    (TransferStatus.IN_TRANSIT, "approve"),
    (TransferStatus.IN_TRANSIT, "ship"),
    (TransferStatus.RECEIVED, "ship"),
    (TransferStatus.RECEIVED, "receive"),
    (TransferStatus.CANCELLED, "submit"),
    (TransferStatus.CANCELLED, "approve"),
    (TransferStatus.CANCELLED, "ship"),
    (TransferStatus.CANCELLED, "cancel"),
]


@pytest.mark.parametrize(("status", "action"), OUT_OF_ORDER)
def test_a_transition_out_of_order_is_refused_and_moves_nothing(setup, status, action):
    engine, world, staff = setup
    if status == TransferStatus.CANCELLED:
        transfer_id = _to(engine, world, staff, TransferStatus.REQUESTED)
        with transaction(engine) as session:
            cancel_transfer(session, transfer_id, actor_id=staff.merch)
    else:
        transfer_id = _to(engine, world, staff, status)
    steps = {
        "submit": (submit_transfer, staff.merch),
        "approve": (approve_transfer, staff.manager2),
        "ship": (ship_transfer, staff.merch),
        "receive": (receive_transfer, staff.merch),
        "cancel": (cancel_transfer, staff.merch),
    }
    step, actor = steps[action]
    before, ledger = _balances(engine, world), _ledger_count(engine)
    with read_session(engine) as session:
        events = len(transfer_timeline(session, transfer_id))
    with pytest.raises(InvalidTransition) as refused, transaction(engine) as session:
        step(session, transfer_id, actor_id=actor)
    assert refused.value.details["status"] == status.value
    assert f"is {status.value.replace('_', ' ')}" in refused.value.message
    assert _balances(engine, world) == before
    assert _ledger_count(engine) == ledger
    assert _status(engine, transfer_id) == status.value
    with read_session(engine) as session:
        assert len(transfer_timeline(session, transfer_id)) == events


def test_editing_lines_is_for_drafts_only(setup):
    engine, world, staff = setup
    transfer_id = _draft(engine, world, staff)
    with transaction(engine) as session:
        set_lines(session, transfer_id, [(world.variants["S"], 2)], actor_id=staff.merch)
    with read_session(engine) as session:
        lines = transfer_detail(session, transfer_id).lines
        assert [(x.size, x.qty) for x in lines] == [("S", 2)]
    with transaction(engine) as session:
        submit_transfer(session, transfer_id, actor_id=staff.merch)
    with pytest.raises(InvalidTransition), transaction(engine) as session:
        set_lines(session, transfer_id, [(world.variants["M"], 1)], actor_id=staff.merch)


# --- bad input ------------------------------------------------------------------------------


def test_a_transfer_to_the_same_warehouse_is_refused(setup):
    engine, world, staff = setup
    with pytest.raises(InvalidQuantity, match="different warehouse"):
        _draft(engine, world, staff, source="WH1", dest="WH1")
    with read_session(engine) as session:
        assert list_transfers(session).total == 0


@pytest.mark.parametrize("qty", [0, -3, 2.5, "4", True])
def test_zero_negative_or_non_integer_lines_are_refused(setup, qty):
    engine, world, staff = setup
    with pytest.raises(InvalidQuantity, match="qty of variant"):
        _draft(engine, world, staff, lines=[(world.variants["M"], 2), (world.variants["L"], qty)])
    with read_session(engine) as session:
        assert list_transfers(session).total == 0


def test_duplicate_lines_and_empty_transfers_are_refused(setup):
    engine, world, staff = setup
    m = world.variants["M"]
    with pytest.raises(InvalidQuantity, match="more than one line"):
        _draft(engine, world, staff, lines=[LineInput(m, 2), LineInput(m, 3)])
    with (
        pytest.raises(InvalidQuantity, match="at least one line"),
        transaction(engine) as session,
    ):
        create_transfer(
            session,
            source_warehouse_id=world.warehouses["WH1"],
            dest_warehouse_id=world.warehouses["WH2"],
            lines=[],
            actor_id=staff.merch,
        )
    with pytest.raises(NotFound, match="No variant with id 999999"):
        _draft(engine, world, staff, lines=[(999_999, 1)])
    with pytest.raises(NotFound, match="destination warehouse"), transaction(engine) as session:
        create_transfer(
            session,
            source_warehouse_id=world.warehouses["WH1"],
            dest_warehouse_id=424242,
            lines=[(m, 1)],
            actor_id=staff.merch,
        )
    with read_session(engine) as session:
        assert list_transfers(session).total == 0


def test_a_shipment_larger_than_available_is_refused_and_nothing_moves(setup):
    engine, world, staff = setup
    m, l_ = world.variants["M"], world.variants["L"]
    # M is fine (5 of 20) but L wants 25 of 20: the whole shipment is refused.
    transfer_id = _to(engine, world, staff, TransferStatus.APPROVED, lines=[(m, 5), (l_, 25)])
    before, ledger = _balances(engine, world), _ledger_count(engine)
    with (
        pytest.raises(InsufficientStock, match="only 20 available") as refused,
        transaction(engine) as session,
    ):
        ship_transfer(session, transfer_id, actor_id=staff.merch)
    assert refused.value.details["requested"] == 25
    assert _balances(engine, world) == before
    assert _ledger_count(engine) == ledger
    assert _status(engine, transfer_id) == "approved"


def test_a_refused_shipment_leaves_nothing_behind_even_if_the_caller_commits(setup):
    engine, world, staff = setup
    m, l_ = world.variants["M"], world.variants["L"]
    transfer_id = _to(engine, world, staff, TransferStatus.APPROVED, lines=[(m, 5), (l_, 25)])
    before, ledger = _balances(engine, world), _ledger_count(engine)
    with transaction(engine) as session, pytest.raises(InsufficientStock):
        ship_transfer(session, transfer_id, actor_id=staff.merch)
        # the savepoint rolled back; committing this transaction commits nothing of it
    assert _balances(engine, world) == before
    assert _ledger_count(engine) == ledger
    assert _status(engine, transfer_id) == "approved"


def test_reserved_units_are_not_available_to_ship(setup):
    engine, world, staff = setup
    m = world.variants["M"]
    wh1 = world.warehouses["WH1"]
    transfer_id = _to(engine, world, staff, TransferStatus.APPROVED, lines=[(m, 5)])
    with transaction(engine) as session:
        reserve(session, m, 17, channel="web", order_ref="o-1", actor="web", warehouse_id=wh1)
    with (
        pytest.raises(InsufficientStock, match="only 3 available"),
        transaction(engine) as session,
    ):
        ship_transfer(session, transfer_id, actor_id=staff.merch)
    assert _balances(engine, world)["M", "WH1"].reserved == 17


def test_receiving_more_than_shipped_is_refused_and_nothing_moves(setup):
    engine, world, staff = setup
    m = world.variants["M"]
    transfer_id = _to(engine, world, staff, TransferStatus.IN_TRANSIT)
    before, ledger = _balances(engine, world), _ledger_count(engine)
    for receipt in (
        [ReceiptLine(m, received=6)],
        [ReceiptLine(m, received=4, damaged=1, short=1)],
        [ReceiptLine(m, received=-1)],
        [ReceiptLine(m, received=1), ReceiptLine(m, received=1)],
        [ReceiptLine(world.variants["S"], received=1)],
    ):
        with pytest.raises(InvalidQuantity), transaction(engine) as session:
            receive_transfer(session, transfer_id, receipt, actor_id=staff.merch)
    # after a partial receipt of 4, one more than the remaining 1 is refused too
    with transaction(engine) as session:
        receive_transfer(
            session, transfer_id, [ReceiptLine(m, received=4)], actor_id=staff.merch, complete=False
        )
    with (
        pytest.raises(InvalidQuantity, match="only 1 of 5 shipped remain"),
        transaction(engine) as session,
    ):
        receive_transfer(session, transfer_id, [ReceiptLine(m, received=2)], actor_id=staff.merch)
    after = _balances(engine, world)
    assert after["M", "ST1"].on_hand == before["M", "ST1"].on_hand + 4
    assert _ledger_count(engine) == ledger + 1
    assert _status(engine, transfer_id) == "in_transit"


# --- who may do what ------------------------------------------------------------------------


def test_roles_create_ship_and_receive_for_merchandisers_and_approve_for_managers(setup):
    engine, world, staff = setup
    with pytest.raises(PermissionDenied, match="merchandisers"), transaction(engine) as session:
        create_transfer(
            session,
            source_warehouse_id=world.warehouses["WH1"],
            dest_warehouse_id=world.warehouses["WH2"],
            lines=[(world.variants["M"], 1)],
            actor_id=staff.vendor,
        )
    transfer_id = _to(engine, world, staff, TransferStatus.REQUESTED)
    with (
        pytest.raises(PermissionDenied, match="Only admins or managers may approve"),
        transaction(engine) as session,
    ):
        approve_transfer(session, transfer_id, actor_id=staff.merch2)
    with transaction(engine) as session:
        approve_transfer(session, transfer_id, actor_id=staff.admin)
    with pytest.raises(PermissionDenied, match="may ship"), transaction(engine) as session:
        ship_transfer(session, transfer_id, actor_id=staff.manager)
    assert _status(engine, transfer_id) == "approved"
    assert allows("manager", "transfers.approve")
    assert not allows("merchandiser", "transfers.approve")
    assert allows("merchandiser", "transfers.ship") and not allows("vendor", "transfers.create")
    assert not allows("x", "transfers.ship")


def test_approving_ones_own_transfer_is_refused_unless_the_policy_allows_it(setup, monkeypatch):
    engine, world, staff = setup
    with transaction(engine) as session:
        own = create_transfer(
            session,
            source_warehouse_id=world.warehouses["WH1"],
            dest_warehouse_id=world.warehouses["WH2"],
            lines=[(world.variants["M"], 1)],
            actor_id=staff.admin,
        ).id
        submit_transfer(session, own, actor_id=staff.admin)
    monkeypatch.delenv("RACKROOM_ALLOW_SELF_APPROVAL", raising=False)
    reload_settings()
    with (
        pytest.raises(PermissionDenied, match="another manager must approve"),
        transaction(engine) as session,
    ):
        approve_transfer(session, own, actor_id=staff.admin)
    assert _status(engine, own) == "requested"
    with transaction(engine) as session:
        approve_transfer(
            session, own, actor_id=staff.admin, policy=TransferPolicy(allow_self_approval=True)
        )
    assert _status(engine, own) == "approved"

    monkeypatch.setenv("RACKROOM_ALLOW_SELF_APPROVAL", "on")
    reload_settings()
    try:
        assert TransferPolicy.from_env().allow_self_approval
    finally:
        monkeypatch.delenv("RACKROOM_ALLOW_SELF_APPROVAL")
        reload_settings()


def test_an_inactive_user_can_do_nothing(setup):
    engine, world, staff = setup
    transfer_id = _to(engine, world, staff, TransferStatus.REQUESTED)
    with transaction(engine) as session:
        session.get(User, staff.manager).is_active = False
    with (
        pytest.raises(PermissionDenied, match="active account"),
        transaction(engine) as session,
    ):
        approve_transfer(session, transfer_id, actor_id=staff.manager)


# --- reading ----------------------------------------------------------------------------------


def test_lists_counts_and_pick_list(setup):
    engine, world, staff = setup
    drafts = [_draft(engine, world, staff) for _ in range(3)]
    shipped = _to(engine, world, staff, TransferStatus.IN_TRANSIT, dest="WH2")
    requested = _to(engine, world, staff, TransferStatus.REQUESTED)
    with read_session(engine) as session:
        page = list_transfers(session, limit=2)
        assert page.total == 5 and [r.id for r in page.rows] == [requested, shipped]
        second = list_transfers(session, offset=2, limit=2)
        assert [r.id for r in second.rows] == [drafts[2], drafts[1]]
        assert list_transfers(session, status="draft").total == 3
        assert list_transfers(session, status=["requested", "in_transit"]).total == 2
        assert [
            r.id for r in list_transfers(session, warehouse_id=world.warehouses["WH2"]).rows
        ] == [shipped]
        row = page.rows[1]
        assert (row.source_code, row.dest_code, row.lines, row.units) == ("WH1", "WH2", 2, 8)
        assert row.created_by == "merch@rackroom.test"

        counts = transfer_counts(session)
        assert counts.by_status["draft"] == 3 and counts.by_status["in_transit"] == 1
        assert counts.waiting == 2

        picks = pick_list(session, requested)
        assert (picks.source_code, picks.dest_code, picks.units) == ("WH1", "ST1", 8)
        assert [(p.size, p.qty, p.on_hand) for p in picks.lines] == [("M", 5, 15), ("L", 3, 17)]
        assert picks.lines[0].sku == "NRD-TEE1-BLK-M"
        with pytest.raises(NotFound):
            pick_list(session, 424242)
        with pytest.raises(NotFound):
            transfer_timeline(session, 424242)


# --- what the new-transfer form checks before anything is written ------------------------


def test_search_finds_variants_by_sku_or_name_with_units_available_at_the_source(setup):
    from models.transfers.lines import search_variants

    engine, world, _ = setup
    wh1 = world.warehouses["WH1"]
    with transaction(engine) as session:
        reserve(
            session,
            world.variants["M"],
            5,
            channel="web",
            order_ref="o-9",
            actor="web",
            warehouse_id=wh1,
        )
    with read_session(engine) as session:
        hits = search_variants(session, "blk-m", warehouse_id=wh1)
        assert [(h.sku, h.available) for h in hits] == [("NRD-TEE1-BLK-M", 15)]  # 20 − 5 held
        by_name = search_variants(session, "organic", warehouse_id=wh1)
        assert [h.sku for h in by_name] == ["NRD-TEE1-BLK-L", "NRD-TEE1-BLK-M", "NRD-TEE1-BLK-S"]
        assert by_name[0].product == "Organic Tee" and by_name[0].size == "L"
        assert search_variants(session, "NRD-TEE1-BLK-S", warehouse_id=None)[0].available is None
        assert search_variants(session, "n", warehouse_id=wh1) == []  # too short
        assert search_variants(session, "%%", warehouse_id=wh1) == []  # a wildcard is text


def test_check_lines_reports_every_problem_and_warns_beyond_available(setup):
    from models.transfers.lines import LineRequest, check_lines

    engine, world, _ = setup
    requests = [
        LineRequest(1, "NRD-TEE1-BLK-M", 5),
        LineRequest(2, "NOPE", 1),
        LineRequest(3, "NRD-TEE1-BLK-S", 0),
        LineRequest(4, "NRD-TEE1-BLK-M", 2),
        LineRequest(5, "NRD-TEE1-BLK-L", 25),
        LineRequest(6, "NRD-TEE1-BLK-S", None, "needs a SKU and a quantity"),
    ]
    with read_session(engine) as session:
        checks = check_lines(
            session, requests, source_warehouse_id=world.warehouses["WH1"], source_code="WH1"
        )
    assert [(c.row, c.problem, c.warning) for c in checks] == [
        (1, "", ""),
        (2, "no variant with this SKU, alias or barcode", ""),
        (3, "quantity 0; quantities must be 1 or more", ""),
        (
            4,
            "same variant (NRD-TEE1-BLK-M) as line 1; put it on one line with the total quantity",
            "",
        ),
        (5, "", "asks for 25; 20 available at WH1"),
        (6, "needs a SKU and a quantity", ""),
    ]
    assert checks[0].available == 20 and checks[0].product == "Organic Tee · Black · M"
    assert checks[1].variant_id is None and checks[1].available is None
