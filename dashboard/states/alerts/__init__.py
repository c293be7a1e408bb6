"""The alert pages' states, split along their seams: the inbox, the rules editor (with
what a SKU inherits) and replenishment; `common` holds what they share."""

from dashboard.states.alerts.common import (
    ANY,
    KIND_COLORS,
    KIND_LABELS,
    LEVEL_LABELS,
    REPLENISH_ROUTE,
    ROUTE,
    RULES_ROUTE,
    VIEW_LABELS,
    warehouse_code_choices,
)
from dashboard.states.alerts.inbox import AlertItem, AlertsState, SnoozeForm, read_inbox
from dashboard.states.alerts.replenishment import (
    ReplenishItem,
    ReplenishmentState,
    purchase_list_size,
    read_replenishment,
)
from dashboard.states.alerts.rules import (
    AlertRulesState,
    InheritItem,
    RuleForm,
    RuleItem,
    read_inherited,
    save_rule_from_form,
)

__all__ = [
    "ANY",
    "KIND_COLORS",
    "KIND_LABELS",
    "LEVEL_LABELS",
    "REPLENISH_ROUTE",
    "ROUTE",
    "RULES_ROUTE",
    "VIEW_LABELS",
    "AlertItem",
    "AlertRulesState",
    "AlertsState",
    "InheritItem",
    "ReplenishItem",
    "ReplenishmentState",
    "RuleForm",
    "RuleItem",
    "SnoozeForm",
    "purchase_list_size",
    "read_inbox",
    "read_inherited",
    "read_replenishment",
    "save_rule_from_form",
    "warehouse_code_choices",
]
