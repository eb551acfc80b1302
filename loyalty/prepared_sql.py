"""ORM queries compiled once per shape, for the storefront widget's hot path.

Turning a queryset with subqueries into SQL costs more CPU than PostgreSQL spends answering it
(the widget's account lookup: about half of a request).  ``prepared_rows`` builds the queryset
once with marker values in place of the request's values (the shop, the shopper, the moment),
compiles it, and remembers where each marker went; later calls send the same SQL with the
request's values in those places and convert the rows with the ORM's own converters.  The SQL
is still the ORM's (the same filters, the rule's one home), only compiled less often.

A shape whose markers cannot all be found in the parameters (the ORM rewrote or inlined a value)
is not prepared: such a call runs the queryset as usual.
"""

import threading
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connections
from django.db.models import QuerySet

_MARK_INT = -8_765_432_100
_MARK_TEXT = "\x1fprepared-marker-"
_MARK_TIME = datetime(1901, 2, 3, 4, 5, 6, tzinfo=UTC)


@dataclass(frozen=True)
class _Prepared:
    sql: str
    slots: tuple[tuple[str | None, Any], ...]  # per parameter: (value name, None) or (None, constant)
    converters: dict[int, tuple[list[Any], Any]]  # column -> (converters, expression), as the ORM's


_prepared: dict[tuple[str, Hashable], _Prepared | None] = {}
_lock = threading.Lock()


def _marker(index: int, value: Any) -> Any:
    if isinstance(value, bool):
        raise TypeError("booleans cannot be told apart: pass them as constants of the shape")
    if isinstance(value, int):
        return _MARK_INT - index
    if isinstance(value, str):
        return f"{_MARK_TEXT}{index}"
    if isinstance(value, datetime):
        return _MARK_TIME + timedelta(microseconds=index + 1)
    raise TypeError(f"no marker for {type(value).__name__}")


def _prepare(using: str, build: Callable[[Mapping[str, Any]], QuerySet[Any]],
             values: Mapping[str, Any]) -> _Prepared | None:
    connection = connections[using]
    markers = {name: _marker(index, value) for index, (name, value) in enumerate(values.items())}
    compiler = build(markers).query.get_compiler(using=using)
    sql, params = compiler.as_sql()

    def adapted(marker: Any) -> Any:
        return connection.ops.adapt_datetimefield_value(marker) if isinstance(marker, datetime) else marker

    by_value: dict[tuple[type, Any], str] = {}
    for name, marker in markers.items():
        by_value[(type(marker), marker)] = name
        by_value[(type(adapted(marker)), adapted(marker))] = name
    slots: list[tuple[str | None, Any]] = []
    for param in params:
        named = by_value.get((type(param), param))
        slots.append((named, None) if named is not None else (None, param))
    found = {name for name, _constant in slots if name is not None}
    if found != set(markers) or _MARK_TEXT in sql or str(_MARK_INT)[1:] in sql:
        return None
    fields = [selected[0] for selected in compiler.select[:compiler.col_count]]
    return _Prepared(sql=sql, slots=tuple(slots), converters=compiler.get_converters(fields))


def prepared_rows(*, shape: Hashable, build: Callable[[Mapping[str, Any]], QuerySet[Any]],
                  values: Mapping[str, Any], using: str = "default") -> list[list[Any]]:
    """The rows of ``build(values)`` (a ``values_list`` queryset), as the ORM would convert them.
    ``shape`` names everything about the query that is not in ``values`` (the same shape: the same
    SQL); ``values`` are ints, strings or datetimes (bools and the like belong to the shape)."""
    connection = connections[using]
    key = (connection.vendor, shape)
    with _lock:
        known = key in _prepared
        prepared = _prepared.get(key)
    if not known:
        prepared = _prepare(using, build, values)
        with _lock:
            _prepared[key] = prepared
    if prepared is None:
        return [list(row) for row in build(values)]
    params = [constant if name is None else connection.ops.adapt_datetimefield_value(values[name])
              if isinstance(values[name], datetime) else values[name]
              for name, constant in prepared.slots]
    with connection.cursor() as cursor:
        cursor.execute(prepared.sql, params)
        rows = [list(row) for row in cursor.fetchall()]
    for row in rows:
        for position, (converters, expression) in prepared.converters.items():
            value = row[position]
            for converter in converters:
                value = converter(value, expression, connection)
            row[position] = value
    return rows
