"""Calculated query cost and the per-shop leaky bucket, after Shopify's rules (simplified).

* scalar and enum fields cost 0, object fields 1;
* a connection costs ``2 + n × (1 + cost of the node selection)`` where ``n`` is ``first``/``last``
  (requested cost) or the number of nodes returned (actual cost);
* a plain list of objects (e.g. ``Order.refunds``) costs its element's cost times ``first`` when
  that argument is given, else once;
* every mutation field costs 10.

The bucket is charged the requested cost up front and refunded the difference once the actual
cost is known, as Shopify does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValueNode,
    VariableNode,
)

MAX_FIRST = 250


class LeakyBucket:
    """Shopify's leaky bucket: ``maximum`` points, refilled at ``restore_rate`` per second."""

    def __init__(self, maximum: float = 2000, restore_rate: float = 100,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.maximum = float(maximum)
        self.restore_rate = float(restore_rate)
        self._available = float(maximum)
        self._last = clock()

    def configure(self, maximum: float, restore_rate: float) -> None:
        with self._lock:
            self.maximum = float(maximum)
            self.restore_rate = float(restore_rate)
            self._available = float(maximum)
            self._last = self._clock()

    def _refill(self) -> None:
        now = self._clock()
        self._available = min(self.maximum,
                              self._available + (now - self._last) * self.restore_rate)
        self._last = now

    def try_take(self, cost: float) -> bool:
        with self._lock:
            self._refill()
            if cost > self._available:
                return False
            self._available -= cost
            return True

    def refund(self, amount: float) -> None:
        with self._lock:
            self._refill()
            self._available = min(self.maximum, self._available + max(0.0, amount))

    def drain(self, amount: float | None = None) -> None:
        """Test helper: empty the bucket (or take ``amount``)."""
        with self._lock:
            self._refill()
            self._available = 0.0 if amount is None else max(0.0, self._available - amount)

    def status(self) -> dict[str, Any]:
        with self._lock:
            self._refill()
            return {
                "maximumAvailable": self.maximum,
                "currentlyAvailable": int(self._available),
                "restoreRate": self.restore_rate,
            }


@dataclass(slots=True)
class CostReport:
    requested: int
    errors: list[GraphQLError] = field(default_factory=list)


def _named(type_: Any) -> tuple[GraphQLNamedType, bool]:
    is_list = False
    while isinstance(type_, (GraphQLNonNull, GraphQLList)):
        if isinstance(type_, GraphQLList):
            is_list = True
        type_ = type_.of_type
    return type_, is_list


def _is_connection(named: GraphQLNamedType) -> bool:
    return isinstance(named, GraphQLObjectType) and named.name.endswith("Connection")


class CostCalculator:
    """Walks an operation against the schema (and, for the actual cost, its result)."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode],
                 variables: dict[str, Any] | None, check_pagination: bool = True) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables or {}
        self.check_pagination = check_pagination
        self.errors: list[GraphQLError] = []

    def _value(self, node: ValueNode | None) -> Any:
        if node is None:
            return None
        if isinstance(node, VariableNode):
            return self.variables.get(node.name.value)
        if isinstance(node, IntValueNode):
            return int(node.value)
        return None

    def _arg(self, field_node: FieldNode, name: str) -> Any:
        for arg in field_node.arguments or ():
            if arg.name.value == name:
                return self._value(arg.value)
        return None

    def _fields(self, selection_set: SelectionSetNode | None,
                owner: GraphQLNamedType) -> list[tuple[FieldNode, GraphQLNamedType]]:
        out: list[tuple[FieldNode, GraphQLNamedType]] = []
        if selection_set is None:
            return out
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                out.append((sel, owner))
            elif isinstance(sel, InlineFragmentNode):
                cond = owner
                if sel.type_condition is not None:
                    cond = self.schema.get_type(sel.type_condition.name.value) or owner
                out.extend(self._fields(sel.selection_set, cond))
            elif isinstance(sel, FragmentSpreadNode):
                frag = self.fragments.get(sel.name.value)
                if frag is not None:
                    cond = self.schema.get_type(frag.type_condition.name.value) or owner
                    out.extend(self._fields(frag.selection_set, cond))
        return out

    def operation_cost(self, operation: OperationDefinitionNode, data: Any = None,
                       actual: bool = False) -> int:
        if operation.operation == OperationType.MUTATION:
            mutation_type = self.schema.mutation_type
            assert mutation_type is not None
            fields = self._fields(operation.selection_set, mutation_type)
            return 10 * len([f for f, _ in fields if not f.name.value.startswith("__")])
        root = self.schema.query_type
        assert root is not None
        return self.selection_cost(operation.selection_set, root, data, actual)

    def selection_cost(self, selection_set: SelectionSetNode | None, owner: GraphQLNamedType,
                       data: Any, actual: bool) -> int:
        total = 0
        for field_node, field_owner in self._fields(selection_set, owner):
            name = field_node.name.value
            if name.startswith("__") or not isinstance(
                    field_owner, (GraphQLObjectType, GraphQLInterfaceType)):
                continue
            field_def = field_owner.fields.get(name)
            if field_def is None:
                continue
            named, is_list = _named(field_def.type)
            if not isinstance(named, (GraphQLObjectType, GraphQLInterfaceType, GraphQLUnionType)):
                continue
            key = field_node.alias.value if field_node.alias else name
            value = data.get(key) if isinstance(data, dict) else None
            if actual and value is None:
                continue
            if _is_connection(named):
                total += self._connection_cost(field_node, named, value, actual)
            elif is_list:
                sized = self._arg(field_node, "first")
                if actual:
                    costs = [1 + self.selection_cost(field_node.selection_set, named, v, True)
                             for v in value or () if v is not None]
                    # an unsized list is charged once, as in the requested cost
                    total += sum(costs) if sized is not None else max(costs, default=0)
                else:
                    n = self._arg(field_node, "first")
                    n = n if isinstance(n, int) and n >= 0 else 1
                    total += n * (1 + self.selection_cost(field_node.selection_set, named, None,
                                                          False))
            else:
                total += 1 + self.selection_cost(field_node.selection_set, named, value, actual)
        return total

    def _connection_cost(self, field_node: FieldNode, conn: GraphQLNamedType, value: Any,
                         actual: bool) -> int:
        assert isinstance(conn, GraphQLObjectType)
        node_type, _ = _named(conn.fields["nodes"].type) if "nodes" in conn.fields else (
            _named(conn.fields["edges"].type)[0], True)
        node_selections: list[SelectionSetNode | None] = []
        for f, _ in self._fields(field_node.selection_set, conn):
            if f.name.value == "nodes":
                node_selections.append(f.selection_set)
            elif f.name.value == "edges":
                edge_type = _named(conn.fields["edges"].type)[0]
                for g, _ in self._fields(f.selection_set, edge_type):
                    if g.name.value == "node":
                        node_selections.append(g.selection_set)
        if actual:
            nodes: list[Any] = []
            if isinstance(value, dict):
                listed = value.get("nodes")
                edged = [e.get("node") for e in value.get("edges") or () if isinstance(e, dict)]
                nodes = max(listed or [], edged, key=len)
            per = [1 + sum(self.selection_cost(s, node_type, n, True) for s in node_selections)
                   for n in nodes]
            return 2 + sum(per)
        first = self._arg(field_node, "first")
        last = self._arg(field_node, "last")
        size = first if first is not None else last
        if self.check_pagination:
            if size is None:
                self.errors.append(GraphQLError(
                    "you must provide one of first or last", [field_node]))
            elif size > MAX_FIRST:
                self.errors.append(GraphQLError(
                    f"The `first` argument on `{field_node.name.value}` must be less than or"
                    f" equal to {MAX_FIRST}, got {size}.", [field_node],
                    extensions={"code": "BAD_REQUEST"}))
        n = size if isinstance(size, int) and size > 0 else 0
        node_cost = 1 + sum(self.selection_cost(s, node_type, None, False)
                            for s in node_selections)
        return 2 + n * node_cost
