"""CSV cells that a spreadsheet cannot run: every export writes through :func:`writer`.

Excel, LibreOffice and Google Sheets evaluate a cell starting with ``=``, ``+``, ``-``, ``@``, tab or
carriage return as a formula, so a customer named ``=HYPERLINK("http://x","y")`` would become a live
link in the merchant's spreadsheet. As OWASP recommends, such a text cell gets a leading single
quote (shown as text, not evaluated). Numbers passed as numbers (``int``, ``Decimal``, ``float``)
are written unchanged, so a negative amount stays a number.
"""

import csv
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Protocol

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def safe_cell(value: Any) -> Any:
    """The value to hand to ``csv``: numbers and ``None`` as given, text neutralised if it starts
    with a formula trigger (lazy translations and other objects are written as their text)."""
    if value is None or isinstance(value, int | float | Decimal):  # bool is an int
        return value
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


class SafeWriter:
    """``csv.writer`` whose rows go through :func:`safe_cell`."""

    def __init__(self, file: _Writable, **options: Any) -> None:
        self._writer = csv.writer(file, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


class SafeDictWriter(csv.DictWriter):
    """``csv.DictWriter`` whose header and values go through :func:`safe_cell`."""

    def writeheader(self) -> Any:
        return self.writerow({name: name for name in self.fieldnames})

    def writerow(self, rowdict: Any) -> Any:
        return super().writerow({key: safe_cell(value) for key, value in rowdict.items()})

    def writerows(self, rowdicts: Iterable[Any]) -> None:
        for rowdict in rowdicts:
            self.writerow(rowdict)


def writer(file: _Writable, **options: Any) -> SafeWriter:
    """The writer every CSV export uses (same options as ``csv.writer``)."""
    return SafeWriter(file, **options)
