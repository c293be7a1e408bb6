"""Low-stock rules and the alert inbox: low stock, out of stock, broken size runs.

**Rules.** An `AlertRule` sets a low-stock threshold (and the reorder quantity, lead
time and target cover replenishment uses) for a brand, a product or a variant, in one
warehouse or in all of them. A balance is *watched* when some rule applies to it; the
most specific rule wins, whole: variant before product before brand, and at each level
a rule for that warehouse before a rule for all warehouses. Variants inherit by
having no rule of their own.

**Conditions**, evaluated per balance (variant × warehouse) that a rule watches:

- ``out_of_stock``: available (on hand − reserved) ≤ 0;
- ``low_stock``: 0 < available ≤ threshold;
- ``broken_size_run``: per style-colour and warehouse watched at brand or product
  level, at least one *core* size is out while some size of the run is in stock. The
  rule is the stock grid's (`models.grid.core_sizes` / `is_broken_size_run`: S/M/L
  for alpha runs, else the middle half of the run), written here as set-based SQL; a
  size with no balance row in that warehouse counts as out.

**Alerts.** At most one unresolved alert per (kind, subject) — a partial unique index
enforces it on both databases. An alert is open, acknowledged (someone is on it) or
snoozed until a time (after which it counts as open again); it resolves itself when
its condition clears, and a new alert is raised if the condition returns later.

Alerts are kept current two ways: `check_alerts_for` re-evaluates a few variants in a
few warehouses (cheap; call it after an operation that changed them, in the same
transaction), and `scan_alerts` (the scheduler runs it) re-evaluates everything the
first time and once a day, and in between only the variants whose balances or sizing
changed and those under rules that changed (`models.alerts.scan`). Both lock alert
rows in id order and insert new ones in (kind, subject) order; should
`check_alerts_for` still lose a lock conflict, it gives way (its savepoint rolls back,
the caller's operation stands) and the next scan catches up.
"""

from models.alerts.archive import archive_resolved
from models.alerts.bulk import BATCH_MAX, AlertsRefused, acknowledge_many, snooze_many
from models.alerts.engine import CHECK_CHUNK, AlertChanges, check_alerts_for
from models.alerts.inbox import (
    GROUPINGS,
    VIEWS,
    AlertCounts,
    AlertGroup,
    AlertRow,
    acknowledge_alert,
    alert_counts,
    alert_groups,
    alert_marker,
    group_alert_ids,
    group_totals,
    list_alerts,
    open_alert_count,
    reopen_alert,
    snooze_alert,
)
from models.alerts.rules import (
    EffectiveRule,
    RuleRow,
    delete_rule,
    effective_rule,
    effective_rules,
    list_rules,
    set_rule,
)
from models.alerts.scan import scan_alerts
from models.alerts.tables import MAX_SNOOZE, Alert, AlertKind, AlertRule, AlertStatus, RuleLevel

__all__ = [
    "BATCH_MAX",
    "CHECK_CHUNK",
    "GROUPINGS",
    "MAX_SNOOZE",
    "VIEWS",
    "Alert",
    "AlertChanges",
    "AlertCounts",
    "AlertGroup",
    "AlertKind",
    "AlertRow",
    "AlertRule",
    "AlertStatus",
    "AlertsRefused",
    "EffectiveRule",
    "RuleLevel",
    "RuleRow",
    "acknowledge_alert",
    "acknowledge_many",
    "alert_counts",
    "alert_groups",
    "alert_marker",
    "archive_resolved",
    "check_alerts_for",
    "delete_rule",
    "effective_rule",
    "effective_rules",
    "group_alert_ids",
    "group_totals",
    "list_alerts",
    "list_rules",
    "open_alert_count",
    "reopen_alert",
    "scan_alerts",
    "set_rule",
    "snooze_alert",
    "snooze_many",
]
