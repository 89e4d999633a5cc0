"""Cells for the CSV files the app writes and reads.

A spreadsheet runs a cell that begins with ``=``, ``+``, ``-`` or ``@`` (or a
tab or carriage return) as a formula, so a file named ``=HYPERLINK(...).png``
would become a live link in an exported table.  Following OWASP's advice, such
a cell is written with a leading apostrophe, which spreadsheets show as text.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """``value`` as a CSV cell that no spreadsheet runs: text that would start a
    formula gets a leading ``'``; numbers and other values pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


RESULTS_HEADER = [
    "path",
    "digit",
    "confidence",
    *[f"p{d}" for d in range(10)],
    "reason",
    "error",
]
"""The columns of a results CSV, the command line's and the window's alike:
``reason`` is "blank" or "not a digit" when no digit is given, ``error`` says
why a file could not be read."""
