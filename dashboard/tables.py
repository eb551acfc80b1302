"""A page's tables: one definition renders the HTML table and its CSV download."""

import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.http import HttpResponse
from django.utils.encoding import force_str

from dashboard import formatting
from retention_app import csv_safety

NUMERIC_KINDS = frozenset({"int", "decimal", "percent", "money"})


@dataclass(frozen=True)
class Column:
    label: Any  # a lazy translation
    kind: str = "text"  # text | int | decimal | percent | money | day | month | bool


@dataclass(frozen=True)
class Cell:
    """A value whose kind differs from its column's (a list of mixed metrics)."""

    value: Any
    kind: str


@dataclass
class Table:
    name: str  # the ?table= of its CSV download
    caption: Any
    columns: Sequence[Column]
    rows: list[list[Any]]
    currency: str = ""
    links: list[str] = field(default_factory=list)  # per row, an optional drill-down URL (first cell)

    csv_url: str = ""

    def rendered(self) -> list[dict[str, Any]]:
        """Each row for the template: its drill-down link and its cells as (formatted text, kind)."""
        return [
            {"link": self.links[index] if index < len(self.links) else "",
             "cells": [(self.format(value.value, value.kind), value.kind) if isinstance(value, Cell)
                       else (self.format(value, column.kind), column.kind)
                       for value, column in zip(row, self.columns, strict=True)]}
            for index, row in enumerate(self.rows)
        ]

    def format(self, value: Any, kind: str) -> str:
        if kind == "int":
            return formatting.number(value, 0)
        if kind == "decimal":
            return formatting.number(value, 2)
        if kind == "percent":
            return formatting.percent(value)
        if kind == "money":
            return formatting.money(value, self.currency)
        if kind == "day":
            return formatting.day(value)
        if kind == "month":
            return formatting.month(value)
        if value is None:
            return formatting.EMPTY
        return force_str(value)


def csv_filename(*parts: str) -> str:
    """``comeback-<shop>-<table>-<start>_<end>.csv``, safe for any browser and file system."""
    name = "-".join(part for part in parts if part)
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name) + ".csv"


def csv_response(table: Table, *, filename: str) -> HttpResponse:
    """UTF-8 with a byte-order mark so Excel shows Hebrew and Persian; raw values (dot decimals,
    ISO dates) so the numbers stay numbers in a spreadsheet; headers in the active language. Text
    cells that a spreadsheet would run as a formula are neutralised (``retention_app.csv_safety``)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv_safety.writer(buffer)
    headers = [force_str(column.label) for column in table.columns]
    if any(column.kind == "money" for column in table.columns) and table.currency:
        headers = [f"{label} ({table.currency})" if column.kind == "money" else label
                   for label, column in zip(headers, table.columns, strict=True)]
    writer.writerow(headers)
    for row in table.rows:
        writer.writerow(["" if value is None else _raw(value, column.kind)
                         for value, column in zip(row, table.columns, strict=True)])
    response = HttpResponse(buffer.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _raw(value: Any, kind: str) -> Any:
    """A cell as written: numbers of numeric columns as numbers (a negative amount is not a formula),
    everything else as text, which the CSV writer neutralises if it could run."""
    if isinstance(value, Cell):
        return "" if value.value is None else _raw(value.value, value.kind)
    if isinstance(value, bool):
        return "1" if value else "0"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, int | float | Decimal) or kind in NUMERIC_KINDS:
        number = _number(value)
        if number is not None:
            return number
    return force_str(value)


def _number(value: Any) -> int | float | Decimal | None:
    """A numeric column's value as a finite number ("-12.500" from SQL included), else None."""
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None
