"""Alerts: the inbox (filters in the URL), acknowledge / snooze / reopen, the rules editor
with what a variant inherits, and replenishment with a CSV purchase list per brand.

Staff only (merchandisers, managers, admins): every handler checks on the server first.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import date, timedelta
from typing import TypedDict
from urllib.parse import urlencode

import reflex as rx
from sqlalchemy import select
from sqlmodel import Session

from dashboard.formatting import exact_time, plural, relative_time, units
from dashboard.states.auth import RoleGuard
from dashboard.states.listing import (
    Choice,
    PagedList,
    db_read,
    db_write,
    fetch_page,
    page_number,
    query_param,
)
from dashboard.states.sidebar import SidebarState
from dashboard.states.transfers import brand_options
from models.alerts import (
    VIEWS,
    AlertKind,
    acknowledge_alert,
    alert_counts,
    delete_rule,
    effective_rules,
    list_alerts,
    list_rules,
    reopen_alert,
    set_rule,
    snooze_alert,
)
from models.base import utcnow
from models.catalog import Brand, Product, Warehouse, brand_by_code, variant_by_sku
from models.errors import DomainError, InvalidQuantity, NotFound
from models.replenishment import purchase_list_csv, replenishment
from models.users import Role

log = logging.getLogger(__name__)

ROUTE = "/alerts"
RULES_ROUTE = "/alerts/rules"
REPLENISH_ROUTE = "/alerts/replenishment"
STAFF = (Role.ADMIN, Role.MERCHANDISER, Role.MANAGER)
ANY = "all"
UNEXPECTED = "Something went wrong and nothing was changed. Try again in a moment."

KIND_LABELS = {
    AlertKind.LOW_STOCK.value: "Low stock",
    AlertKind.OUT_OF_STOCK.value: "Out of stock",
    AlertKind.BROKEN_SIZE_RUN.value: "Broken size run",
}
KIND_COLORS = {"low_stock": "amber", "out_of_stock": "red", "broken_size_run": "purple"}
VIEW_LABELS = {
    "open": "Open",
    "acknowledged": "Acknowledged",
    "snoozed": "Snoozed",
    "active": "All unresolved",
    "resolved": "Resolved",
}
LEVEL_LABELS = {"brand": "Brand", "product": "Product (style)", "variant": "Variant (SKU)"}


@dataclasses.dataclass
class AlertItem:
    id: int = 0
    kind: str = ""
    kind_label: str = ""
    color: str = "gray"
    status: str = ""
    subject: str = ""
    detail: str = ""
    brand: str = ""
    warehouse: str = ""
    available: str = ""
    threshold: str = ""
    since: str = ""
    since_exact: str = ""
    state_note: str = ""
    can_ack: bool = False
    can_reopen: bool = False
    resolved: bool = False


def _status_note(row) -> str:
    if row.status == "resolved":
        return "resolved " + relative_time(row.resolved_at)
    if row.status == "acknowledged":
        return "acknowledged by " + (row.acknowledged_by or "someone")
    if row.status == "snoozed" and row.snoozed_until is not None:
        if row.snoozed_until > utcnow():
            return "snoozed to " + row.snoozed_until.strftime("%d %b")
        return "snooze ended"
    return "open"


def _alert_item(row) -> AlertItem:
    if row.kind == "broken_size_run":
        subject = f"{row.style_code} · {row.colour}"
        detail = row.product + " · a core size is out"
    else:
        subject = row.sku
        detail = f"{row.product} · {row.colour} · {row.size}"
    return AlertItem(
        id=row.id,
        kind=row.kind,
        kind_label=KIND_LABELS.get(row.kind, row.kind),
        color=KIND_COLORS.get(row.kind, "gray"),
        status=row.status,
        subject=subject,
        detail=detail,
        brand=row.brand_code,
        warehouse=row.warehouse_code,
        available="" if row.available is None else units(row.available),
        threshold="" if row.threshold is None else units(row.threshold),
        since=relative_time(row.raised_at),
        since_exact=exact_time(row.raised_at),
        state_note=_status_note(row),
        can_ack=row.status in ("open", "snoozed"),
        can_reopen=row.status in ("acknowledged", "snoozed"),
        resolved=row.status == "resolved",
    )


def _ids(session: Session, brand: str, warehouse: str) -> tuple[int | None, int | None]:
    brand_id = session.scalar(select(Brand.id).where(Brand.code == brand)) if brand else None
    warehouse_id = (
        session.scalar(select(Warehouse.id).where(Warehouse.code == warehouse))
        if warehouse
        else None
    )
    return brand_id, warehouse_id


def read_inbox(session: Session, page: int, view: str, kind: str, brand: str, warehouse: str):
    brand_id, warehouse_id = _ids(session, brand, warehouse)
    if (brand and brand_id is None) or (warehouse and warehouse_id is None):
        return None, alert_counts(session)
    found = fetch_page(
        session,
        list_alerts,
        page,
        view=view,
        kind=kind or None,
        brand_id=brand_id,
        warehouse_id=warehouse_id,
    )
    return found, alert_counts(session, brand_id=brand_id)


def warehouse_code_choices(session: Session) -> list[tuple[str, str]]:
    return [
        (code, f"{code} · {name}")
        for code, name in session.execute(
            select(Warehouse.code, Warehouse.name).order_by(Warehouse.code)
        )
    ]


class SnoozeForm(TypedDict, total=False):
    until: str


class AlertsState(RoleGuard, PagedList, rx.State):
    """/alerts?view=&kind=&brand=&warehouse=&page=: the inbox."""

    alerts: list[AlertItem] = []
    view: str = "open"
    kind: str = ANY
    brand: str = ANY
    warehouse: str = ANY
    brands: list[Choice] = []
    warehouses: list[Choice] = []
    counts: dict[str, str] = {}
    loaded: bool = False
    load_error: str = ""

    dialog: str = ""
    target_id: int = 0
    target_label: str = ""
    snooze_default: str = ""
    form_error: str = ""
    saving: bool = False

    @rx.var
    def filtered(self) -> bool:
        return self.kind != ANY or self.brand != ANY or self.warehouse != ANY

    @rx.var
    def summary(self) -> str:
        if not self.loaded:
            return ""
        return plural(self.total, "alert") + " · " + VIEW_LABELS.get(self.view, "").lower()

    def _filters(self) -> dict[str, str]:
        return {
            "view": "" if self.view == "open" else self.view,
            "kind": "" if self.kind == ANY else self.kind,
            "brand": "" if self.brand == ANY else self.brand,
            "warehouse": "" if self.warehouse == ANY else self.warehouse,
        }

    def _href(self, **changes: str) -> str:
        params = {**self._filters(), **changes}
        if params.get("view") == "open":
            params["view"] = ""
        params = {k: ("" if v == ANY else v) for k, v in params.items()}
        query = urlencode({k: v for k, v in params.items() if v})
        return f"{ROUTE}?{query}" if query else ROUTE

    @rx.event
    async def load(self):
        access = await self.require_role(*STAFF, action="see alerts")
        if not access:
            self._clear()
            return access.page_refusal
        params = self.router.url.query_parameters
        view = query_param(params, "view")
        self.view = view if view in VIEWS else "open"
        kind = query_param(params, "kind")
        self.kind = kind if kind in KIND_LABELS else ANY
        self.brand = query_param(params, "brand").upper() or ANY
        self.warehouse = query_param(params, "warehouse").upper() or ANY
        self.dialog = ""
        if not self.brands:
            self.brands = [Choice(c, label) for c, label in await db_read(brand_options)]
            self.warehouses = [
                Choice(c, label) for c, label in await db_read(warehouse_code_choices)
            ]
        await self._fetch(page_number(params))
        return None

    async def _fetch(self, page: int) -> None:
        f = self._filters()
        try:
            found, counts = await db_read(
                read_inbox, page, self.view, f["kind"], f["brand"], f["warehouse"]
            )
        except Exception:
            log.exception("alerts: reading the inbox failed")
            self.load_error = "The alerts could not be read. Refresh to try again."
            return
        self.load_error = ""
        self.counts = {
            "open": units(counts.open),
            "acknowledged": units(counts.acknowledged),
            "snoozed": units(counts.snoozed),
            **{k: units(n) for k, n in counts.by_kind.items()},
        }
        if found is None:
            self.alerts = []
            self.total = 0
            self.range_label = self.previous_href = self.next_href = ""
        else:
            self.alerts = [_alert_item(row) for row in found.rows]
            self._show_paging(found, ROUTE, f)
        self.loaded = True

    def _clear(self) -> None:
        self.alerts = []
        self.loaded = False
        self.total = 0
        self.counts = {}
        self.range_label = self.previous_href = self.next_href = ""
        self.dialog = ""

    @rx.event
    async def set_filter(self, name: str, value: str):
        """A picker changed: the filter goes into the URL, which reloads the list."""
        access = await self.require_role(*STAFF, action="see alerts")
        if not access:
            return access.refusal
        if name not in ("view", "kind", "brand", "warehouse"):
            return None
        return rx.redirect(self._href(**{name: value[:40]}))

    @rx.event
    async def clear_filters(self):
        access = await self.require_role(*STAFF, action="see alerts")
        if not access:
            return access.refusal
        return rx.redirect(self._href(kind="", brand="", warehouse=""))

    def _target(self, alert_id: int) -> AlertItem | None:
        return next((a for a in self.alerts if a.id == alert_id), None)

    async def _change(self, alert_id: int, what: str, fn, done: str, **kwargs):
        access = await self.require_role(*STAFF, action=what)
        if not access:
            return access.refusal
        try:
            await db_write(fn, alert_id, actor_id=access.user.id, **kwargs)
        except DomainError as error:
            if self.dialog:
                self.form_error = error.message
                return None
            await self._fetch(page_number(self.router.url.query_parameters))
            return rx.toast.error(error.message, description="Nothing was changed.")
        except Exception:
            log.exception("alerts: %s %s failed", what, alert_id)
            return rx.toast.error(UNEXPECTED)
        log.info("%s: %s alert %s", access.user.email, what, alert_id)
        self.dialog, self.form_error, self.saving = "", "", False
        await self._fetch(page_number(self.router.url.query_parameters))
        return [rx.toast.success(done), SidebarState.refresh()]

    @rx.event
    async def acknowledge(self, alert_id: int):
        return await self._change(
            alert_id,
            "acknowledge alerts",
            acknowledge_alert,
            "Acknowledged: it stays listed until the stock recovers",
        )

    @rx.event
    async def reopen(self, alert_id: int):
        return await self._change(alert_id, "reopen alerts", reopen_alert, "Reopened")

    @rx.event
    async def open_snooze(self, alert_id: int):
        access = await self.require_role(*STAFF, action="snooze alerts")
        if not access:
            return access.refusal
        target = self._target(alert_id)
        if target is None:
            return rx.toast.error("That alert is not on this page any more. Refresh the list.")
        self.target_id, self.target_label = target.id, f"{target.subject} at {target.warehouse}"
        self.snooze_default = (date.today() + timedelta(days=7)).isoformat()
        self.form_error = ""
        self.dialog = "snooze"
        return None

    @rx.event
    async def snooze(self, form: SnoozeForm):
        access = await self.require_role(*STAFF, action="snooze alerts")
        if not access:
            return access.refusal
        if self.dialog != "snooze":
            return None
        raw = str(form.get("until") or "").strip()
        try:
            until = date.fromisoformat(raw)
        except ValueError:
            self.form_error = "Pick the date the alert should come back."
            return None
        return await self._change(
            self.target_id,
            "snooze alerts",
            snooze_alert,
            f"Snoozed until {until:%d %b %Y}",
            until=until,
        )

    @rx.event
    def on_dialog_change(self, open_: bool) -> None:
        """Esc, Cancel or a click outside closes the dialog. Changes no data."""
        if not open_:
            self.dialog, self.form_error, self.saving = "", "", False


# --- rules ----------------------------------------------------------------------------------


@dataclasses.dataclass
class RuleItem:
    id: int = 0
    level: str = ""
    level_label: str = ""
    subject: str = ""
    brand: str = ""
    warehouse: str = ""
    threshold: str = ""
    reorder_qty: str = ""
    lead_time: str = ""
    cover: str = ""
    updated_by: str = ""
    updated: str = ""
    updated_exact: str = ""


@dataclasses.dataclass
class InheritItem:
    warehouse: str = ""
    threshold: str = ""
    reorder_qty: str = ""
    lead_time: str = ""
    cover: str = ""
    source: str = ""
    watched: bool = False


def _subject_id(session: Session, level: str, code: str) -> int:
    code = code.strip()
    if not code:
        raise InvalidQuantity("Enter the brand code, style code or SKU the rule is for.")
    if level == "brand":
        brand = brand_by_code(session, code.upper())
        assert brand.id is not None
        return brand.id
    if level == "product":
        ids = list(session.scalars(select(Product.id).where(Product.style_code == code).limit(2)))
        if not ids:
            raise NotFound(f"No style with code {code!r}.")
        if len(ids) > 1:
            raise InvalidQuantity(f"Style code {code!r} is used by more than one brand.")
        return ids[0]
    if level == "variant":
        variant = variant_by_sku(session, code)
        assert variant.id is not None
        return variant.id
    raise InvalidQuantity("Pick the level: brand, product or variant.")


def save_rule_from_form(session: Session, form: dict, actor_id: int) -> str:
    level = str(form.get("level") or "")
    subject_id = _subject_id(session, level, str(form.get("subject") or ""))
    warehouse = str(form.get("warehouse") or ANY)
    warehouse_id = None
    if warehouse != ANY:
        warehouse_id = session.scalar(select(Warehouse.id).where(Warehouse.code == warehouse))
        if warehouse_id is None:
            raise NotFound(f"No warehouse {warehouse}.")

    def number(name: str, label: str, default: int) -> int:
        raw = str(form.get(name) or "").strip()
        if raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise InvalidQuantity(f"{label} must be a whole number, not {raw!r}.") from None
        if value < 0:
            raise InvalidQuantity(f"{label} cannot be negative.")
        return value

    rule = set_rule(
        session,
        level=level,
        subject_id=subject_id,
        warehouse_id=warehouse_id,
        threshold=number("threshold", "Threshold", 0),
        reorder_qty=number("reorder_qty", "Reorder quantity", 0),
        lead_time_days=number("lead_time_days", "Lead time", 14),
        target_cover_days=number("target_cover_days", "Target cover", 28),
        actor_id=actor_id,
    )
    where = warehouse if warehouse_id is not None else "all warehouses"
    return f"{LEVEL_LABELS[rule.level]} rule saved for {where}: low at ≤ {rule.threshold}"


def read_inherited(session: Session, sku: str) -> tuple[str, list[InheritItem]]:
    variant = variant_by_sku(session, sku.strip())
    assert variant.id is not None
    places = list(
        session.execute(
            select(Warehouse.id, Warehouse.code)
            .where(Warehouse.is_active.is_(True))
            .order_by(Warehouse.code)
        )
    )
    rules = effective_rules(session, [(variant.id, w) for w, _ in places])
    items = []
    for warehouse_id, code in places:
        rule = rules.get((variant.id, warehouse_id))
        if rule is None:
            items.append(InheritItem(code, "—", "—", "—", "—", "no rule: not watched", False))
            continue
        items.append(
            InheritItem(
                code,
                units(rule.threshold),
                units(rule.reorder_qty),
                f"{rule.lead_time_days} d",
                f"{rule.target_cover_days} d",
                f"from the {rule.source}",
                True,
            )
        )
    return variant.sku, items


class RuleForm(TypedDict, total=False):
    level: str
    subject: str
    warehouse: str
    threshold: str
    reorder_qty: str
    lead_time_days: str
    target_cover_days: str


class AlertRulesState(RoleGuard, PagedList, rx.State):
    """/alerts/rules?brand=&sku=: rules, the rule editor, and what a SKU inherits."""

    rules: list[RuleItem] = []
    brand: str = ANY
    brands: list[Choice] = []
    warehouses: list[Choice] = []
    loaded: bool = False
    load_error: str = ""
    sku: str = ""
    inherited_sku: str = ""
    inherited: list[InheritItem] = []
    inherit_error: str = ""

    dialog: str = ""
    form_level: str = "brand"
    form_warehouse: str = ANY
    form_subject: str = ""
    form_error: str = ""
    saving: bool = False
    target_id: int = 0

    @rx.event
    async def load(self):
        access = await self.require_role(*STAFF, action="see alert rules")
        if not access:
            self.rules, self.inherited, self.loaded = [], [], False
            self.dialog = ""
            return access.page_refusal
        params = self.router.url.query_parameters
        self.brand = query_param(params, "brand").upper() or ANY
        self.sku = query_param(params, "sku")
        self.dialog = ""
        self.brands = [Choice(c, label) for c, label in await db_read(brand_options)]
        self.warehouses = [Choice(c, label) for c, label in await db_read(warehouse_code_choices)]
        await self._fetch(page_number(params))
        await self._inherit()
        return None

    async def _fetch(self, page: int) -> None:
        brand = "" if self.brand == ANY else self.brand

        def read(session: Session):
            brand_id = None
            if brand:
                brand_id = session.scalar(select(Brand.id).where(Brand.code == brand))
                if brand_id is None:
                    brand_id = -1
            return fetch_page(session, list_rules, page, brand_id=brand_id)

        try:
            found = await db_read(read)
        except Exception:
            log.exception("alerts: reading rules failed")
            self.load_error = "The rules could not be read. Refresh to try again."
            return
        self.load_error = ""
        self.rules = [
            RuleItem(
                id=r.id,
                level=r.level,
                level_label=LEVEL_LABELS.get(r.level, r.level),
                subject=r.subject,
                brand=r.brand_code,
                warehouse=r.warehouse_code or "All warehouses",
                threshold=units(r.threshold),
                reorder_qty=units(r.reorder_qty),
                lead_time=f"{r.lead_time_days} d",
                cover=f"{r.target_cover_days} d",
                updated_by=r.updated_by,
                updated=relative_time(r.updated_at),
                updated_exact=exact_time(r.updated_at),
            )
            for r in found.rows
        ]
        self._show_paging(found, RULES_ROUTE, {"brand": brand, "sku": self.sku})
        self.loaded = True

    async def _inherit(self) -> None:
        self.inherited, self.inherited_sku, self.inherit_error = [], "", ""
        if not self.sku:
            return
        try:
            self.inherited_sku, self.inherited = await db_read(read_inherited, self.sku)
        except DomainError as error:
            self.inherit_error = error.message

    def _href(self, brand: str, sku: str) -> str:
        query = urlencode({k: v for k, v in {"brand": brand, "sku": sku}.items() if v})
        return f"{RULES_ROUTE}?{query}" if query else RULES_ROUTE

    @rx.event
    async def filter_brand(self, code: str):
        access = await self.require_role(*STAFF, action="see alert rules")
        if not access:
            return access.refusal
        return rx.redirect(self._href("" if code == ANY else code[:40], self.sku))

    @rx.event
    async def look_up(self, form: dict):
        """Enter in "What does a SKU inherit?": the SKU goes into the URL."""
        access = await self.require_role(*STAFF, action="see alert rules")
        if not access:
            return access.refusal
        brand = "" if self.brand == ANY else self.brand
        return rx.redirect(self._href(brand, str(form.get("sku") or "").strip()[:100]))

    @rx.event
    def on_dialog_change(self, open_: bool) -> None:
        """Esc, Cancel or a click outside closes the dialog. Changes no data."""
        if not open_:
            self.dialog, self.form_error, self.saving = "", "", False

    @rx.event
    def set_form_level(self, value: str) -> None:
        if value in LEVEL_LABELS:
            self.form_level = value

    @rx.event
    def set_form_warehouse(self, value: str) -> None:
        self.form_warehouse = value

    @rx.event
    async def open_create(self):
        access = await self.require_role(*STAFF, action="change alert rules")
        if not access:
            return access.refusal
        self.form_error, self.saving = "", False
        self.form_level, self.form_warehouse = "brand", ANY
        self.form_subject = self.brand if self.brand != ANY else ""
        self.dialog = "rule"
        return None

    @rx.event
    async def save_rule(self, form: RuleForm):
        access = await self.require_role(*STAFF, action="change alert rules")
        if not access:
            return access.refusal
        self.saving = True
        data = {**form, "level": self.form_level, "warehouse": self.form_warehouse}
        try:
            message = await db_write(save_rule_from_form, data, access.user.id)
        except DomainError as error:
            self.saving, self.form_error = False, error.message
            return None
        except Exception:
            log.exception("alerts: saving a rule failed")
            self.saving, self.form_error = False, UNEXPECTED
            return None
        self.dialog, self.saving, self.form_error = "", False, ""
        await self._fetch(page_number(self.router.url.query_parameters))
        await self._inherit()
        return rx.toast.success(message, description="The next alert scan applies it.")

    @rx.event
    async def confirm_delete(self, rule_id: int):
        access = await self.require_role(*STAFF, action="change alert rules")
        if not access:
            return access.refusal
        self.target_id = rule_id
        self.form_error = ""
        self.dialog = "delete"
        return None

    @rx.event
    async def delete(self):
        access = await self.require_role(*STAFF, action="change alert rules")
        if not access:
            return access.refusal
        if self.dialog != "delete":
            return None
        try:
            await db_write(delete_rule, self.target_id, actor_id=access.user.id)
        except DomainError as error:
            self.form_error = error.message
            return None
        self.dialog = ""
        await self._fetch(page_number(self.router.url.query_parameters))
        await self._inherit()
        return rx.toast.success("Rule deleted: its variants fall back to the next rule up")


# --- replenishment --------------------------------------------------------------------------


@dataclasses.dataclass
class ReplenishItem:
    sku: str = ""
    variant: str = ""
    brand: str = ""
    warehouse: str = ""
    kind_label: str = ""
    color: str = "gray"
    available: str = ""
    incoming: str = ""
    velocity: str = ""
    cover: str = ""
    threshold: str = ""
    reorder_qty: str = ""
    lead: str = ""
    suggested: str = ""
    to_order: bool = False


def read_replenishment(session: Session, brand: str) -> list:
    brand_id = None
    if brand:
        brand_id = brand_by_code(session, brand).id
    return replenishment(session, brand_id=brand_id)


def read_purchase_list(session: Session, brand: str) -> tuple[str, int]:
    found = brand_by_code(session, brand)
    assert found.id is not None
    text = purchase_list_csv(session, found.id)
    return text, max(0, text.count("\n") - 1)


class ReplenishmentState(RoleGuard, rx.State):
    """/alerts/replenishment?brand=CODE: what to reorder for alerted variants."""

    brand: str = ANY
    brands: list[Choice] = []
    lines: list[ReplenishItem] = []
    loaded: bool = False
    load_error: str = ""
    downloading: bool = False

    @rx.var
    def summary(self) -> str:
        if not self.loaded:
            return ""
        to_order = sum(1 for x in self.lines if x.to_order)
        return f"{plural(len(self.lines), 'alerted balance')} · {to_order:,} to order"

    @rx.event
    async def load(self):
        access = await self.require_role(*STAFF, action="see replenishment")
        if not access:
            self.lines, self.loaded = [], False
            return access.page_refusal
        self.brand = query_param(self.router.url.query_parameters, "brand").upper() or ANY
        self.brands = [Choice(c, label) for c, label in await db_read(brand_options)]
        try:
            found = await db_read(read_replenishment, "" if self.brand == ANY else self.brand)
        except DomainError as error:
            self.load_error, self.lines, self.loaded = error.message, [], True
            return None
        except Exception:
            log.exception("alerts: reading replenishment failed")
            self.load_error = "Replenishment could not be computed. Refresh to try again."
            return None
        self.load_error = ""
        self.lines = [
            ReplenishItem(
                sku=x.sku,
                variant=f"{x.product} · {x.colour} · {x.size}",
                brand=x.brand_code,
                warehouse=x.warehouse_code,
                kind_label=KIND_LABELS.get(x.kind, x.kind),
                color=KIND_COLORS.get(x.kind, "gray"),
                available=units(x.available),
                incoming=units(x.incoming),
                velocity=f"{x.weekly_velocity:,.1f}",
                cover="no sales" if x.weeks_of_cover is None else f"{x.weeks_of_cover:,.1f} wk",
                threshold=units(x.threshold),
                reorder_qty=units(x.reorder_qty),
                lead=f"{x.lead_time_days} + {x.target_cover_days} d",
                suggested=units(x.suggested_qty),
                to_order=x.suggested_qty > 0,
            )
            for x in found[:500]
        ]
        self.loaded = True
        return None

    @rx.event
    async def filter_brand(self, code: str):
        access = await self.require_role(*STAFF, action="see replenishment")
        if not access:
            return access.refusal
        if code == ANY:
            return rx.redirect(REPLENISH_ROUTE)
        return rx.redirect(f"{REPLENISH_ROUTE}?{urlencode({'brand': code[:40]})}")

    @rx.event
    async def download(self):
        access = await self.require_role(*STAFF, action="download purchase lists")
        if not access:
            return access.refusal
        if self.brand == ANY:
            return rx.toast.error("Pick a brand first: a purchase list goes to one brand.")
        try:
            text, rows = await db_read(read_purchase_list, self.brand)
        except DomainError as error:
            return rx.toast.error(error.message)
        stamp = utcnow().strftime("%Y%m%d")
        return [
            rx.download(
                data=text,
                filename=f"purchase-list-{self.brand.lower()}-{stamp}.csv",
                mime_type="text/csv",
            ),
            rx.toast.success(f"Purchase list for {self.brand}: {plural(rows, 'line')}"),
        ]
