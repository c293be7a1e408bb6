"""/alerts/rules?brand=&sku=: the alert rules, the rule editor, and what a SKU inherits.

Staff only (`alerts.read` to look, `alerts.rules` to change): every handler checks on
the server first.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypedDict

import reflex as rx
from sqlalchemy import select
from sqlmodel import Session

from dashboard.formatting import units
from dashboard.items import Moment, item_of
from dashboard.states.alerts.common import (
    ANY,
    LEVEL_LABELS,
    RULES_ROUTE,
    BrandPicker,
    brand_id_of,
    href,
    warehouse_id_of,
)
from dashboard.states.auth import RoleGuard, requires, signed_in_user
from dashboard.states.dialogs import DialogState
from dashboard.states.listing import (
    PagedList,
    db_read,
    db_write,
    query_param,
)
from models.admin import Page
from models.alerts import RuleRow, delete_rule, effective_rules, list_rules, set_rule
from models.catalog import Product, Warehouse, brand_by_code, variant_by_sku
from models.errors import DomainError, InvalidQuantity, NotFound


@dataclasses.dataclass
class RuleItem:
    id: int
    level: str
    level_label: str
    subject: str
    brand: str
    warehouse: str
    threshold: str
    reorder_qty: str
    lead_time: str
    cover: str
    updated_by: str
    updated: Moment


@dataclasses.dataclass
class InheritItem:
    warehouse: str
    threshold: str
    reorder_qty: str
    lead_time: str
    cover: str
    source: str
    watched: bool


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
    """Set the rule the dialog describes; a message saying what was saved."""
    level = str(form.get("level") or "")
    subject_id = _subject_id(session, level, str(form.get("subject") or ""))
    warehouse = str(form.get("warehouse") or ANY)
    warehouse_id = None
    if warehouse != ANY:
        warehouse_id = warehouse_id_of(session, warehouse)
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
            InheritItem(code, **_settings(rule), source=f"from the {rule.source}", watched=True)
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


def brand_rules(session: Session, *, brand: str, offset: int, limit: int) -> Page[RuleRow]:
    """A page of rules, of one brand when `brand` is a code (none for an unknown code)."""
    brand_id = brand_id_of(session, brand) if brand else None
    if brand and brand_id is None:
        brand_id = -1
    return list_rules(session, brand_id=brand_id, offset=offset, limit=limit)


def _rule_item(r) -> RuleItem:
    return item_of(
        RuleItem,
        r,
        level_label=LEVEL_LABELS.get(r.level, r.level),
        brand=r.brand_code,
        warehouse=r.warehouse_code or "All warehouses",
        **_settings(r),
        updated=Moment.of(r.updated_at),
    )


def _settings(rule: Any) -> dict[str, str]:
    """A rule's figures as the lists show them: units, and days of lead time and cover."""
    return {
        "threshold": units(rule.threshold),
        "reorder_qty": units(rule.reorder_qty),
        "lead_time": f"{rule.lead_time_days} d",
        "cover": f"{rule.target_cover_days} d",
    }


class AlertRulesState(RoleGuard, DialogState, PagedList, BrandPicker, rx.State):
    """/alerts/rules?brand=&sku=: rules, the rule editor, and what a SKU inherits."""

    rules: list[RuleItem] = []
    sku: str = ""
    inherited_sku: str = ""
    inherited: list[InheritItem] = []
    inherit_error: str = ""

    form_level: str = "brand"
    form_warehouse: str = ANY
    form_subject: str = ""
    target_id: int = 0

    @rx.event
    @requires("alerts.read")
    async def load(self) -> None:
        params = self.router.url.query_parameters
        self._read_brand(params)
        self.sku = query_param(params, "sku")
        self._close_dialog()
        await self._read_choices()
        await self._refetch()

    async def _refetch(self) -> None:
        """The page of rules and what the looked-up SKU inherits."""
        brand = "" if self.brand == ANY else self.brand
        url = {"brand": brand, "sku": self.sku}
        rows = await self._read_rows("rules", brand_rules, RULES_ROUTE, url, brand=brand)
        if rows is None:
            return
        self.rules = [_rule_item(r) for r in rows]
        self.loaded = True
        await self._inherit()

    async def _inherit(self) -> None:
        self.inherited, self.inherited_sku, self.inherit_error = [], "", ""
        if not self.sku:
            return
        try:
            self.inherited_sku, self.inherited = await db_read(read_inherited, self.sku)
        except DomainError as error:
            self.inherit_error = error.message

    @rx.event
    @requires("alerts.read")
    def filter_brand(self, code: str):
        return rx.redirect(href(RULES_ROUTE, brand=code[:40], sku=self.sku))

    @rx.event
    @requires("alerts.read")
    def look_up(self, form: dict):
        """Enter in "What does a SKU inherit?": the SKU goes into the URL."""
        sku = str(form.get("sku") or "").strip()[:100]
        return rx.redirect(href(RULES_ROUTE, brand=self.brand, sku=sku))

    @rx.event
    def set_form_level(self, value: str) -> None:
        """The level picked in the rule dialog (saved only with Save). No data."""
        if value in LEVEL_LABELS:
            self.form_level = value

    @rx.event
    def set_form_warehouse(self, value: str) -> None:
        """The warehouse picked in the rule dialog (saved only with Save). No data."""
        self.form_warehouse = value

    @rx.event
    @requires("alerts.rules")
    def open_create(self) -> None:
        self._open_dialog("rule")
        self.form_level, self.form_warehouse = "brand", ANY
        self.form_subject = self.brand if self.brand != ANY else ""

    @rx.event
    @requires("alerts.rules")
    async def save_rule(self, form: RuleForm):
        data = {**form, "level": self.form_level, "warehouse": self.form_warehouse}
        return await self._attempt(
            db_write(save_rule_from_form, data, signed_in_user().id),
            done=lambda message: message,
            description="The next alert scan applies it.",
        )

    @rx.event
    @requires("alerts.rules")
    def confirm_delete(self, rule_id: int) -> None:
        self._open_dialog("delete")
        self.target_id = rule_id

    @rx.event
    @requires("alerts.rules")
    async def delete(self):
        if self.dialog != "delete":
            return None
        return await self._attempt(
            db_write(delete_rule, self.target_id, actor_id=signed_in_user().id),
            done="Rule deleted: its variants fall back to the next rule up",
        )
