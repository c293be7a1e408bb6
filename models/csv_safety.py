"""Cells that stay text when a CSV is opened in a spreadsheet.

Excel, LibreOffice and Google Sheets run a cell that starts with ``=``, ``+``, ``-``
or ``@`` (and some treat a leading tab or carriage return the same way) as a formula,
so a product name like ``=HYPERLINK("http://evil", "click")`` from a vendor's file
would come back active in any export. Prefixing ``'`` makes the spreadsheet show it
as the literal text (OWASP's advice for CSV injection).
"""

from __future__ import annotations

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """`value` as CSV cell text that a spreadsheet will not evaluate."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text
