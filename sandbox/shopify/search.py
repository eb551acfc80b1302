"""Shopify search syntax (``query:`` argument) and keyset pagination for connections.

Supported: ``field:value``, ``field:>value`` / ``>=`` / ``<`` / ``<=``, quoted values ('..' or
".."), prefix wildcards (``title:Argan*``), ``field:*`` (has a value), implicit/explicit ``AND``,
``OR``, ``NOT`` / ``-term`` and parentheses, and bare words (free text over a few fields).  As in
Shopify, filters on unknown fields are ignored rather than rejected.
"""

from __future__ import annotations

import base64
import binascii
import json
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from graphql import GraphQLError

from .common import parse_datetime

Predicate = Callable[[Any], bool]
Getter = Callable[[Any], Any]

MAX_PAGE = 250


@dataclass(frozen=True, slots=True)
class Field:
    getter: Getter
    kind: str = "str"  # str, date, int, bool, list


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    buf: list[str] = []
    quote = ""
    for ch in text:
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = ""
            continue
        if ch in "'\"":
            quote = ch
            buf.append(ch)
        elif ch.isspace() or ch in "()":
            if buf:
                tokens.append("".join(buf))
                buf = []
            if ch in "()":
                tokens.append(ch)
        else:
            buf.append(ch)
    if buf:
        tokens.append("".join(buf))
    return tokens


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


class _Parser:
    def __init__(self, tokens: list[str], fields: dict[str, Field], text_fields: list[Getter]):
        self.tokens = tokens
        self.pos = 0
        self.fields = fields
        self.text_fields = text_fields

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse_or(self) -> Predicate:
        parts = [self.parse_and()]
        while self.peek() == "OR":
            self.take()
            parts.append(self.parse_and())
        if len(parts) == 1:
            return parts[0]
        return lambda obj: any(p(obj) for p in parts)

    def parse_and(self) -> Predicate:
        parts: list[Predicate] = []
        while (token := self.peek()) is not None and token not in (")", "OR"):
            if token == "AND":
                self.take()
                continue
            parts.append(self.parse_unary())
        if len(parts) == 1:
            return parts[0]
        return lambda obj: all(p(obj) for p in parts)

    def parse_unary(self) -> Predicate:
        token = self.take()
        if token == "NOT":
            inner = self.parse_unary()
            return lambda obj: not inner(obj)
        if token == "(":
            inner = self.parse_or()
            if self.peek() == ")":
                self.take()
            return inner
        if token.startswith("-") and len(token) > 1:
            inner = self.term(token[1:])
            return lambda obj: not inner(obj)
        return self.term(token)

    def term(self, token: str) -> Predicate:
        name, sep, rest = token.partition(":")
        if not sep:
            word = _unquote(token).lower()
            getters = self.text_fields
            return lambda obj: any(word in str(g(obj) or "").lower() for g in getters)
        field = self.fields.get(name.lower())
        if field is None:
            return lambda obj: True
        op = ""
        for candidate in (">=", "<=", ">", "<"):
            if rest.startswith(candidate):
                op, rest = candidate, rest[len(candidate):]
                break
        return _compare(field, op, _unquote(rest))


def _compare(field: Field, op: str, raw: str) -> Predicate:
    get = field.getter
    if raw == "*" and not op:
        return lambda obj: get(obj) not in (None, "", [])
    target: Any
    if field.kind == "date":
        try:
            target = parse_datetime(raw)
        except ValueError as exc:
            raise GraphQLError(f"Invalid date in search query: {raw!r}") from exc
    elif field.kind == "int":
        try:
            target = int(raw.rsplit("/", 1)[-1])
        except ValueError:
            return lambda obj: False
    elif field.kind == "bool":
        target = raw.lower() == "true"
    else:
        target = raw.lower()

    def norm(value: Any) -> Any:
        if field.kind == "str" and value is not None:
            return str(value).lower()
        return value

    if field.kind == "list":
        needles = [t for t in target.split(",") if t]

        def match(value: Any) -> bool:
            text = str(value).lower()
            return any(text.startswith(n[:-1]) if n.endswith("*") else text == n
                       for n in needles)

        return lambda obj: any(match(v) for v in get(obj) or ())
    if not op and field.kind == "str" and "," in target:
        options = set(target.split(","))
        return lambda obj: norm(get(obj)) in options
    if not op:
        if field.kind == "str" and target.endswith("*"):
            needle = target[:-1]
            return lambda obj: str(get(obj) or "").lower().startswith(needle)
        if field.kind == "date":
            # a bare date matches the whole day
            day = target.date()
            return lambda obj: (v := get(obj)) is not None and v.date() == day
        return lambda obj: norm(get(obj)) == target
    ops: dict[str, Callable[[Any, Any], bool]] = {
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
    }
    cmp = ops[op]
    return lambda obj: (v := norm(get(obj))) is not None and cmp(v, target)


def compile_query(text: str | None, fields: dict[str, Field],
                  text_fields: list[Getter]) -> Predicate | None:
    if not text or not text.strip():
        return None
    parser = _Parser(_tokenize(text), fields, text_fields)
    predicate = parser.parse_or()
    return predicate


# --- pagination ----------------------------------------------------------------------------


def encode_cursor(key: tuple[Any, int]) -> str:
    raw = json.dumps({"last_id": key[1], "last_value": key[0]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return data["last_value"], int(data["last_id"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise GraphQLError("Invalid cursor for current pagination sort.") from exc


def sort_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return int(value.timestamp())
    return value


@dataclass(slots=True)
class Page:
    """One page of a connection: ``items`` with their cursors plus page info."""

    items: list[Any]
    cursors: list[str]
    has_next: bool
    has_previous: bool

    @property
    def start_cursor(self) -> str | None:
        return self.cursors[0] if self.cursors else None

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None


def paginate(
    items: Sequence[Any],
    key: Callable[[Any], tuple[Any, int]],
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    reverse: bool = False,
    presorted: bool = False,
) -> Page:
    """Keyset pagination over ``items`` ordered by ``key`` (value, id).

    A cursor remembers the (value, id) of its item, so pages stay correct while records change,
    as on Shopify: an order updated mid-walk reappears at the end of an UPDATED_AT walk.
    """
    for name, value in (("first", first), ("last", last)):
        if value is not None and value < 0:
            raise GraphQLError(f"The `{name}` argument must be greater than or equal to 0.")
        if value is not None and value > MAX_PAGE:
            raise GraphQLError(
                f"The `{name}` argument must be less than or equal to {MAX_PAGE}.",
                extensions={"code": "BAD_REQUEST"},
            )
    ordered = list(items) if presorted else sorted(items, key=key)
    keys = [key(i) for i in ordered]
    lo, hi = 0, len(ordered)  # window in ascending order
    if reverse:
        if after is not None:
            hi = bisect_left(keys, _cursor_key(after))
        if before is not None:
            lo = bisect_right(keys, _cursor_key(before))
        window = list(range(hi - 1, lo - 1, -1))
    else:
        if after is not None:
            lo = bisect_right(keys, _cursor_key(after))
        if before is not None:
            hi = bisect_left(keys, _cursor_key(before))
        window = list(range(lo, hi))
    has_next = has_prev = False
    if first is not None:
        has_next = len(window) > first
        window = window[:first]
    if last is not None:
        has_prev = len(window) > last
        window = window[-last:] if last else []
    if after is not None and not has_prev:
        has_prev = True
    page_items = [ordered[i] for i in window]
    return Page(page_items, [encode_cursor(keys[i]) for i in window], has_next, has_prev)


def _cursor_key(cursor: str) -> tuple[Any, int]:
    value, ident = decode_cursor(cursor)
    return value, ident
