"""Vendor feed imports: Shopify product and inventory exports, and any CSV via a saved mapping.

The pipeline, one module each: reading (bytes → table of strings), formats (layout →
feed), normalise (sizes, colours, quantities, SKUs), plan (checks + dry-run diff),
apply (bulk writes with one ledger row per balance), service (dry run / apply / history),
validate (errors out as CSV/JSON), mappings (saved per-brand column mappings).
"""

from jobs.imports.formats import Format, detect_format
from jobs.imports.mappings import (
    FIELDS,
    MappingSpec,
    get_mapping,
    list_mappings,
    save_mapping,
    suggest_mapping,
)
from jobs.imports.reading import ImportLimits, load_file, read_headers
from jobs.imports.results import (
    BalanceDiff,
    ImportCounts,
    ImportRefused,
    ImportResult,
    ImportRunRow,
    ImportWarning,
    Progress,
    RowError,
)
from jobs.imports.revert import EditedProduct, MovedBalance, RevertResult, revert_import
from jobs.imports.service import (
    ImportOptions,
    apply_import,
    dry_run,
    import_errors,
    list_imports,
)
from jobs.imports.validate import errors_csv

__all__ = [
    "FIELDS",
    "BalanceDiff",
    "EditedProduct",
    "Format",
    "ImportCounts",
    "ImportLimits",
    "ImportOptions",
    "ImportRefused",
    "ImportResult",
    "ImportRunRow",
    "ImportWarning",
    "MappingSpec",
    "MovedBalance",
    "Progress",
    "RevertResult",
    "RowError",
    "apply_import",
    "detect_format",
    "dry_run",
    "errors_csv",
    "get_mapping",
    "import_errors",
    "list_imports",
    "list_mappings",
    "load_file",
    "read_headers",
    "revert_import",
    "save_mapping",
    "suggest_mapping",
]
