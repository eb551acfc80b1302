"""Bulk operations: validate a bulk query, run it in a thread, stream Shopify-style JSONL.

JSONL layout (as Shopify's): one line per node of the top-level connection; each node of a
connection selected directly on a node becomes its own line after its parent, carrying
``"__parentId"`` (the parent's ``id``) as its last key.  Plain list fields and anything inside
them stay inline.

Execution uses a small compiled executor over the same resolvers and scalar serialisers as the
graphql-core schema (much faster than graphql-core per node; the tests check the lines are
byte-identical to graphql-core's output for the same selections).
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from graphql import (
    BooleanValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionNode,
    SelectionSetNode,
    get_argument_values,
    parse,
    validate,
)

from sandbox.store.model import BulkOperation

from .common import gid, iso, parse_gid
from .schema import Ctx, LazyConn, resolve_type_name

if TYPE_CHECKING:
    from .store import Shop

JSON = dict[str, Any]
Completer = Callable[[Any], Any]


class BulkQueryError(ValueError):
    pass


class _Info:
    """Stands in for ``GraphQLResolveInfo``: the resolvers only read ``context``."""

    __slots__ = ("context",)

    def __init__(self, context: Ctx) -> None:
        self.context = context


def _default_resolver(name: str) -> Callable[..., Any]:
    def resolve(obj: Any, info: Any, **_: Any) -> Any:
        if isinstance(obj, dict):
            return obj.get(name)
        return getattr(obj, name, None)

    return resolve


def _skipped(node: SelectionNode) -> bool:
    for directive in getattr(node, "directives", None) or ():
        name = directive.name.value
        if name not in ("skip", "include"):
            continue
        arg = next((a for a in directive.arguments or () if a.name.value == "if"), None)
        value = isinstance(arg.value, BooleanValueNode) and arg.value.value if arg else False
        if (name == "skip" and value) or (name == "include" and not value):
            return True
    return False


@dataclass
class _FieldPlan:
    key: str
    resolve: Callable[..., Any]
    args: dict[str, Any]
    complete: Completer
    is_connection: bool = False
    node_type: GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType | None = None
    node_selection: list[SelectionSetNode] = field(default_factory=list)
    #: ``resolve`` bound to its arguments: ``get(obj)``; a plain attribute resolver (the
    #: schema's ``_field``: ``getter``) is called directly, one that needs only the context
    #: (``_money_field``: ``bound(info)``) is bound to it once.
    get: Callable[[Any], Any] = field(init=False)

    def bind(self, info: _Info) -> _FieldPlan:
        getter = getattr(self.resolve, "getter", None)
        bound = getattr(self.resolve, "bound", None)
        if getter is not None and not self.args:
            self.get = getter
        elif bound is not None and not self.args and info.context.lookup is not None:
            self.get = bound(info)
        else:
            resolve, args = self.resolve, self.args
            self.get = lambda obj: resolve(obj, info, **args)
        return self


class Compiler:
    """Compiles selection sets to plans of (key, resolver, args, completer)."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode],
                 ctx: Ctx) -> None:
        self.schema = schema
        self.fragments = fragments
        self.info = _Info(ctx)
        self._plans: dict[tuple[str, int], list[_FieldPlan]] = {}

    def collect(self, type_: GraphQLObjectType, selections: list[SelectionSetNode]
                ) -> dict[str, list[FieldNode]]:
        """Response key -> field nodes, in first-seen order (graphql-core's collect_fields)."""
        out: dict[str, list[FieldNode]] = {}

        def walk(selection_set: SelectionSetNode) -> None:
            for sel in selection_set.selections:
                if _skipped(sel):
                    continue
                if isinstance(sel, FieldNode):
                    key = sel.alias.value if sel.alias else sel.name.value
                    out.setdefault(key, []).append(sel)
                elif isinstance(sel, InlineFragmentNode):
                    if sel.type_condition is None or self._applies(sel.type_condition.name.value,
                                                                   type_):
                        walk(sel.selection_set)
                elif isinstance(sel, FragmentSpreadNode):
                    frag = self.fragments.get(sel.name.value)
                    if frag and self._applies(frag.type_condition.name.value, type_):
                        walk(frag.selection_set)

        for s in selections:
            walk(s)
        return out

    def _applies(self, condition: str, type_: GraphQLObjectType) -> bool:
        if condition == type_.name:
            return True
        cond = self.schema.get_type(condition)
        if isinstance(cond, (GraphQLInterfaceType, GraphQLUnionType)):
            return self.schema.is_sub_type(cond, type_)
        return False

    def plan(self, type_: GraphQLObjectType, selections: list[SelectionSetNode],
             split_connections: bool = False) -> list[_FieldPlan]:
        cache_key = (type_.name + ("*" if split_connections else ""),
                     hash(tuple(id(s) for s in selections)))
        cached = self._plans.get(cache_key)
        if cached is not None:
            return cached
        plans: list[_FieldPlan] = []
        for key, nodes in self.collect(type_, selections).items():
            name = nodes[0].name.value
            if name == "__typename":
                plans.append(_FieldPlan(key, lambda obj, info, _n=type_.name: _n, {},
                                        lambda v: v))
                continue
            field_def = type_.fields[name]
            args = get_argument_values(field_def, nodes[0], None)
            resolve = field_def.resolve or _default_resolver(name)
            subs = [n.selection_set for n in nodes if n.selection_set is not None]
            named = field_def.type
            while isinstance(named, (GraphQLNonNull, GraphQLList)):
                named = named.of_type
            if (split_connections and isinstance(named, GraphQLObjectType)
                    and named.name.endswith("Connection")):
                node_type, node_sel = self._connection_node(named, subs)
                plans.append(_FieldPlan(key, resolve, args, lambda v: v, True, node_type,
                                        node_sel))
                continue
            plans.append(_FieldPlan(key, resolve, args, self.completer(field_def.type, subs)))
        for p in plans:
            p.bind(self.info)
        self._plans[cache_key] = plans
        return plans

    def _connection_node(self, conn: GraphQLObjectType, subs: list[SelectionSetNode]
                         ) -> tuple[Any, list[SelectionSetNode]]:
        node_type = conn.fields["nodes"].type
        while isinstance(node_type, (GraphQLNonNull, GraphQLList)):
            node_type = node_type.of_type
        selections: list[SelectionSetNode] = []
        for key_nodes in self.collect(conn, subs).values():
            for n in key_nodes:
                if n.name.value == "nodes" and n.selection_set:
                    selections.append(n.selection_set)
                elif n.name.value == "edges" and n.selection_set:
                    edge_type = self.schema.get_type(f"{node_type.name}Edge")
                    assert isinstance(edge_type, GraphQLObjectType)
                    for inner in self.collect(edge_type, [n.selection_set]).values():
                        selections.extend(i.selection_set for i in inner
                                          if i.name.value == "node" and i.selection_set)
        return node_type, selections

    def completer(self, type_: Any, subs: list[SelectionSetNode]) -> Completer:
        if isinstance(type_, GraphQLNonNull):
            return self.completer(type_.of_type, subs)
        if isinstance(type_, GraphQLList):
            inner = self.completer(type_.of_type, subs)
            return lambda v: None if v is None else [inner(x) for x in v]
        if isinstance(type_, GraphQLEnumType):
            return lambda v: v
        if isinstance(type_, GraphQLScalarType):
            serialize = type_.coerce_output_value
            if type_.name in ("String", "ID"):  # their serialisers return a str unchanged
                return lambda v: v if v.__class__ is str else (
                    None if v is None else serialize(v))
            return lambda v: None if v is None else serialize(v)
        if isinstance(type_, GraphQLObjectType):
            object_type = type_
            plans: list[_FieldPlan] = []

            def complete_object(v: Any) -> Any:
                if v is None:
                    return None
                if not plans:
                    plans.extend(self.plan(object_type, subs))
                return {p.key: p.complete(p.get(v)) for p in plans}

            return complete_object

        def complete_abstract(v: Any) -> Any:
            if v is None:
                return None
            concrete = self.schema.get_type(resolve_type_name(v))
            assert isinstance(concrete, GraphQLObjectType)
            return self.execute(concrete, subs, v)

        return complete_abstract

    def execute(self, type_: GraphQLObjectType, subs: list[SelectionSetNode], obj: Any) -> JSON:
        return {p.key: p.complete(p.get(obj)) for p in self.plan(type_, subs)}


@dataclass
class BulkQuery:
    """A validated bulk query, ready to stream lines for the nodes of its root connection."""

    schema: GraphQLSchema
    text: str
    root_field: FieldNode
    fragments: dict[str, FragmentDefinitionNode]

    @property
    def root_name(self) -> str:
        return self.root_field.name.value

    @classmethod
    def compile(cls, schema: GraphQLSchema, text: str) -> BulkQuery:
        """Parse and validate like Shopify; raises :class:`BulkQueryError` with its message."""
        try:
            document = parse(text)
        except GraphQLError as exc:
            raise BulkQueryError(f"Invalid bulk query: {exc.message}") from exc
        errors = validate(schema, document)
        if errors:
            raise BulkQueryError(f"Invalid bulk query: {errors[0].message}")
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) != 1:
            raise BulkQueryError("Invalid bulk query: expected exactly one operation.")
        operation = operations[0]
        if operation.operation != OperationType.QUERY:
            raise BulkQueryError("Bulk mutations are not supported by bulkOperationRunQuery; "
                                 "use bulkOperationRunMutation.")
        if operation.variable_definitions:
            raise BulkQueryError("Invalid bulk query: variables are not supported.")
        fragments = {d.name.value: d for d in document.definitions
                     if isinstance(d, FragmentDefinitionNode)}
        roots = [s for s in operation.selection_set.selections if isinstance(s, FieldNode)]
        if len(roots) != 1 or len(operation.selection_set.selections) != 1:
            raise BulkQueryError("Invalid bulk query: a bulk query must have exactly one "
                                 "top-level field.")
        query = cls(schema, text, roots[0], fragments)
        query._check_connections()
        return query

    def _check_connections(self) -> None:
        root_type = self.schema.query_type
        assert root_type is not None
        field_def = root_type.fields[self.root_name]
        named = field_def.type
        while isinstance(named, (GraphQLNonNull, GraphQLList)):
            named = named.of_type
        if not (isinstance(named, GraphQLObjectType) and named.name.endswith("Connection")):
            raise BulkQueryError("Bulk queries must contain at least one connection.")
        compiler = Compiler(self.schema, self.fragments, Ctx(lookup=None))  # type: ignore[arg-type]
        count = 0

        def visit(node_type: Any, selections: list[SelectionSetNode], depth: int) -> None:
            nonlocal count
            count += 1
            if depth > 2:
                raise BulkQueryError("Bulk queries cannot contain more than 2 levels of nested "
                                     "connections.")
            if not isinstance(node_type, GraphQLObjectType):
                raise BulkQueryError("Invalid bulk query: connections must return object nodes.")
            plans = compiler.plan(node_type, selections, split_connections=True)
            children = [p for p in plans if p.is_connection]
            if children:
                ids = compiler.collect(node_type, selections).get("id")
                if not ids or ids[0].alias is not None:
                    raise BulkQueryError(
                        "The parent 'node' field for a nested connection must select the 'id' "
                        "field without an alias and must be of 'ID' return type. Connection "
                        f"fields without 'id': {', '.join(p.key for p in children)}.")
            for child in children:  # a page size on a nested connection is ignored in bulk
                visit(child.node_type, child.node_selection, depth + 1)

        root_plan = compiler.plan(root_type, [_selection_of(self.root_field)],
                                  split_connections=True)[0]
        visit(root_plan.node_type, root_plan.node_selection, 0)
        if count > 5:
            raise BulkQueryError("Bulk queries cannot contain more than 5 connections.")

    def root_connection(self, ctx: Ctx) -> LazyConn:
        root_type = self.schema.query_type
        assert root_type is not None
        field_def = root_type.fields[self.root_name]
        args = get_argument_values(field_def, self.root_field, None)
        assert field_def.resolve is not None
        conn = field_def.resolve(None, _Info(ctx), **args)
        assert isinstance(conn, LazyConn)
        return conn

    def compiler(self, ctx: Ctx) -> Compiler:
        return Compiler(self.schema, self.fragments, replace(ctx, bulk_mode=True))

    def lines(self, ctx: Ctx, nodes: Iterable[Any], compiler: Compiler | None = None
              ) -> Iterator[tuple[JSON, bool]]:
        """``(line, is_root)`` for every node, children right after their parent."""
        compiler = compiler or self.compiler(ctx)
        root_type = self.schema.query_type
        assert root_type is not None
        root = compiler.plan(root_type, [_selection_of(self.root_field)],
                             split_connections=True)[0]
        plan_cache: dict[tuple[str, int], list[_FieldPlan]] = {}

        def emit(node_type: Any, selections: list[SelectionSetNode], obj: Any,
                 parent_id: str | None) -> Iterator[JSON]:
            concrete = node_type
            if not isinstance(concrete, GraphQLObjectType):
                concrete = self.schema.get_type(resolve_type_name(obj))
            key = (concrete.name, id(selections))
            plans = plan_cache.get(key)
            if plans is None:
                plans = plan_cache[key] = compiler.plan(concrete, selections,
                                                        split_connections=True)
            line: JSON = {}
            children = []
            for p in plans:
                value = p.get(obj)
                if p.is_connection:
                    children.append((p, value))
                else:
                    line[p.key] = p.complete(value)
            if parent_id is not None:
                line["__parentId"] = parent_id
            yield line
            my_id = line.get("id")
            for p, conn in children:
                for child in conn.all():
                    yield from emit(p.node_type, p.node_selection, child, my_id)

        for obj in nodes:
            first = True
            for line in emit(root.node_type, root.node_selection, obj, None):
                yield line, first
                first = False

    def write(self, out: IO[bytes], ctx: Ctx, nodes: Iterable[Any],
              lock: threading.RLock | None = None, chunk: int = 200,
              should_stop: Callable[[], bool] | None = None, grouped: bool = True) -> tuple[int, int]:
        """Stream JSONL to ``out``; returns (object count, root object count).

        ``grouped``: each child line right after its parent (``groupObjects: true``); otherwise
        every child line comes after all the parents, as an ungrouped result may (API 2026-01+)."""
        objects = roots = 0
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        buffer: list[str] = []
        children = None if grouped else tempfile.TemporaryFile()
        compiler = self.compiler(ctx)
        iterator = iter(nodes)
        while True:
            if should_stop is not None and should_stop():
                break
            batch = [x for _, x in zip(range(chunk), iterator, strict=False)]
            if not batch:
                break
            if lock is not None:
                with lock:
                    produced = list(self.lines(ctx, batch, compiler))
            else:
                produced = list(self.lines(ctx, batch, compiler))
            for line, is_root in produced:
                if children is not None and not is_root:
                    children.write((dumps(line) + "\n").encode())
                else:
                    buffer.append(dumps(line))
                objects += 1
                roots += is_root
            if buffer:
                out.write(("\n".join(buffer) + "\n").encode())
            buffer.clear()
        if children is not None:
            with children:
                children.seek(0)
                shutil.copyfileobj(children, out)
        return objects, roots


def _selection_of(field_node: FieldNode) -> SelectionSetNode:
    return SelectionSetNode(selections=(field_node,))


_ROOT_SCOPES = {
    "customers": "read_customers",
    "orders": "read_orders",
    "products": "read_products",
    "productVariants": "read_products",
    "codeDiscountNodes": "read_discounts",
}


def concurrent_bulk_queries(api_version: str) -> int:
    """Bulk queries an app may run at once per shop: one before 2026-01, five from 2026-01 on."""
    return 5 if api_version >= "2026-01" else 1


class BulkManager:
    """Runs bulk operations for every shop of a sandbox and serves their files."""

    def __init__(self, schema: GraphQLSchema, base_url: Callable[[], str],
                 data_dir: str | None = None, min_duration: float = 0.0,
                 on_finish: Callable[[Shop, BulkOperation], None] | None = None) -> None:
        self.schema = schema
        self._base_url = base_url
        self._data_dir = Path(data_dir) if data_dir else None
        self._cleanup: weakref.finalize | None = None
        self.min_duration = min_duration
        self.on_finish = on_finish
        self._threads: list[threading.Thread] = []
        self.rates: list[tuple[int, float]] = []  # (objects, seconds) of finished runs

    @property
    def dir(self) -> Path:
        """Where result files go: ``data_dir``, or a temp dir made on first use and removed by
        :meth:`close` (or at interpreter exit)."""
        if self._data_dir is None:
            path = Path(tempfile.mkdtemp(prefix="shopify-sandbox-bulk-"))
            self._cleanup = weakref.finalize(self, shutil.rmtree, str(path), True)
            self._data_dir = path
        self._data_dir.mkdir(parents=True, exist_ok=True)
        return self._data_dir

    def run(self, shop: Shop, text: str, ctx: Ctx, group_objects: bool | None = None
            ) -> tuple[BulkOperation | None, list[JSON]]:
        """Start a bulk query; ``group_objects`` None: the version's default (true before 2026-01)."""
        grouped = group_objects if group_objects is not None else ctx.api_version < "2026-01"
        with shop.lock:
            running = [op for op in shop.bulk_operations.values()
                       if op.status in ("CREATED", "RUNNING", "CANCELING")]
            if len(running) >= concurrent_bulk_queries(ctx.api_version):
                return None, [{"field": None, "code": "OPERATION_IN_PROGRESS", "message":
                               "A bulk query operation for this app and shop is already in "
                               f"progress: {running[0].gid}."}]
            try:
                query = BulkQuery.compile(self.schema, text)
            except BulkQueryError as exc:
                return None, [{"field": ["query"], "code": "INVALID", "message": str(exc)}]
            op = BulkOperation(id=shop.ids.next("BulkOperation"), query=text, status="CREATED",
                               created_at=shop.now())
            shop.bulk_operations[op.id] = op
        thread = threading.Thread(target=self._execute, args=(shop, op, query, ctx, grouped),
                                  name=f"bulk-{op.id}", daemon=True)
        self._threads.append(thread)
        thread.start()
        return op, []

    def cancel(self, shop: Shop, op_gid: str) -> tuple[BulkOperation | None, list[JSON]]:
        op = shop.bulk_operations.get(parse_gid(op_gid, "BulkOperation") or 0)
        if op is None:
            return None, [{"field": ["id"], "message": "Bulk operation does not exist"}]
        if op.status not in ("CREATED", "RUNNING"):
            return op, [{"field": None, "message":
                         f"A bulk operation cannot be canceled when it is {op.status.lower()}"}]
        op.cancel_requested = True
        op.status = "CANCELING"
        return op, []

    def _execute(self, shop: Shop, op: BulkOperation, query: BulkQuery, ctx: Ctx, grouped: bool = True) -> None:
        started = time.monotonic()
        with shop.lock:  # the creating request holds the lock: it answers CREATED first
            op.status = "RUNNING"
        name = secrets.token_hex(16)
        path = self.dir / f"{name}.jsonl"
        try:
            scope = _ROOT_SCOPES.get(query.root_name)
            if scope is not None:
                from .schema import require_scope

                require_scope(ctx, scope, query.root_name)
            with shop.lock:
                nodes = list(query.root_connection(replace(ctx, bulk_mode=True)).all())
            with path.open("wb") as out:
                objects, roots = query.write(out, ctx, nodes, lock=shop.lock,
                                             should_stop=lambda: op.cancel_requested, grouped=grouped)
            elapsed = time.monotonic() - started
            self.rates.append((objects, elapsed))
            if self.min_duration > elapsed:
                time.sleep(self.min_duration - elapsed)
            with shop.lock:
                op.object_count = objects
                op.root_object_count = roots
                op.completed_at = shop.now()
                if op.cancel_requested:
                    op.status = "CANCELED"
                    path.unlink(missing_ok=True)
                elif objects:
                    op.file_size = path.stat().st_size
                    op.url = f"{self._base_url()}/bulk/{name}.jsonl"
                    op.path = str(path)
                    op.status = "COMPLETED"
                else:
                    path.unlink(missing_ok=True)
                    op.status = "COMPLETED"
        except GraphQLError as exc:
            path.unlink(missing_ok=True)
            code = (exc.extensions or {}).get("code")
            op.error_code = "ACCESS_DENIED" if code == "ACCESS_DENIED" else (
                "INTERNAL_SERVER_ERROR")
            op.status = "FAILED"
            op.completed_at = shop.now()
        except Exception:  # noqa: BLE001 - a failed run must not kill the sandbox
            path.unlink(missing_ok=True)
            op.error_code = "INTERNAL_SERVER_ERROR"
            op.status = "FAILED"
            op.completed_at = shop.now()
        if self.on_finish is not None:
            self.on_finish(shop, op)

    def file(self, name: str) -> Path | None:
        if not name.endswith(".jsonl") or "/" in name or ".." in name or self._data_dir is None:
            return None
        path = self._data_dir / name
        return path if path.is_file() else None

    def wait(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        self.wait(5)
        if self._cleanup is not None:
            self._cleanup()  # only the temp dir this manager made; a given data_dir stays


def finish_payload(op: BulkOperation) -> JSON:
    """Body of the ``bulk_operations/finish`` webhook."""
    return {
        "admin_graphql_api_id": gid("BulkOperation", op.id),
        "completed_at": iso(op.completed_at),
        "created_at": iso(op.created_at),
        "error_code": op.error_code.lower() if op.error_code else None,
        "status": op.status.lower(),
        "type": "query",
    }


__all__ = ["BulkManager", "BulkQuery", "BulkQueryError", "Compiler", "finish_payload"]
