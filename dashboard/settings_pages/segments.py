"""The segment builder: the shop's segments with their rules and sizes, a builder for a new one
(conditions in rows, all or any of them, with a live count as they change), and delete.

The builder posts what the merchant API takes (``key``, ``name``, ``conditions``): the rows
(``field``, ``op`` and ``value`` repeated, ``match`` = ``all`` or ``any``) become the condition
tree of ``segments.rules``, and the count (``?count=1``, asked for by htmx as the rows change)
and the save go through the same bounded validation as the API (``segments.selectors.
segment_preview_count``, ``segments.services.segment_create``); delete is the API's DELETE."""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from dashboard import formatting
from dashboard.auth import DashboardAccess, dashboard_view, form_action, saved_redirect
from dashboard.views import render_page
from loyalty.selectors import active_tiers
from retention_app.errors import ApplicationError
from segments import selectors, services
from segments.rules import COUNTRY_CODE, MAX_LEAVES, MAX_TEXT, NUMBER_BOUNDS, NUMERIC_FIELDS, TEXT_FIELDS

VIEW = "dashboard:settings_segments"
TEMPLATE = "dashboard/settings/segments.html"
COUNT_TEMPLATE = "dashboard/settings/_segment_count.html"

FIELDS = {
    "total_spent": gettext_lazy("Net spend"),
    "orders_count": gettext_lazy("Number of orders"),
    "days_since_last_order": gettext_lazy("Days since the last order"),
    "first_order_days_ago": gettext_lazy("Days since the first order"),
    "tag": gettext_lazy("Customer tag"),
    "tier": gettext_lazy("Loyalty tier"),
    "segment": gettext_lazy("In the segment"),
    "country": gettext_lazy("Country (two-letter code)"),
}
OPS = {"gte": gettext_lazy("at least"), "lte": gettext_lazy("at most"), "is": gettext_lazy("is"),
       "contains": gettext_lazy("includes")}


class SegmentForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    key = forms.SlugField(label=gettext_lazy("Key"), max_length=50, required=False,
                          help_text=gettext_lazy("How flows and the API name the segment (letters, digits, - and _); "
                                                 "made from the name when left empty."))
    match = forms.ChoiceField(label=gettext_lazy("Customers who match"), widget=forms.RadioSelect, initial="all",
                              choices=[("all", gettext_lazy("all of the conditions")),
                                       ("any", gettext_lazy("any of the conditions"))])


@dataclass
class Row:
    field: str = ""
    op: str = "gte"
    value: str = ""
    error: str = ""

    @property
    def blank(self) -> bool:
        return not self.field and not self.value.strip()


def _rows(data: QueryDict, *, keep_blank: bool = False) -> list[Row]:
    fields, ops, values = data.getlist("field"), data.getlist("op"), data.getlist("value")
    rows = [Row(field=fields[index] if index < len(fields) else "", op=ops[index] if index < len(ops) else "gte",
                value=values[index] if index < len(values) else "")
            for index in range(min(max(len(fields), len(values)), MAX_LEAVES + 1))]
    return rows if keep_blank else [row for row in rows if not row.blank]


def _number_error(row: Row) -> str:
    highest = NUMBER_BOUNDS[row.field]
    try:
        number = Decimal(row.value.strip().replace(",", ""))
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or not 0 <= number <= highest:
        return _("Enter a number from 0 to %(most)s.") % {"most": formatting.number(highest, 0)}
    if row.field != "total_spent" and number != number.to_integral_value():
        return _("Enter a whole number.")
    if number != number.quantize(Decimal("0.001")):
        return _("Use at most 3 decimals.")
    return ""


def _row_check(row: Row, *, segment_keys: set[str]) -> None:
    """The row's problem, in the merchant's language, before the service's own (bounded) check."""
    value = row.value.strip()
    if row.field not in FIELDS:
        row.error = _("Choose what to compare.")
    elif not value:
        row.error = _("Enter a value.")
    elif row.field in NUMERIC_FIELDS:
        row.error = (_("Choose “at least” or “at most”.") if row.op not in ("gte", "lte") else _number_error(row))
    elif row.field == "country" and not COUNTRY_CODE.fullmatch(value):
        row.error = _("Enter a two-letter country code, like IL or DE.")
    elif len(value) > MAX_TEXT or any(ord(char) < 32 for char in value):
        row.error = _("Enter at most %(most)d characters.") % {"most": MAX_TEXT}
    elif row.field == "segment" and value not in segment_keys:
        row.error = _("There is no segment with this key.")


def _leaf(row: Row) -> dict[str, str]:
    if row.field in TEXT_FIELDS:
        op = TEXT_FIELDS[row.field]
    elif row.field == "country":
        op = "is"
    else:
        op = row.op
    return {"field": row.field, "op": op, "value": row.value.strip().replace(",", "")
            if row.field in NUMERIC_FIELDS else row.value.strip()}


def _conditions(match: str, rows: list[Row]) -> dict[str, Any]:
    return {"any" if match == "any" else "all": [_leaf(row) for row in rows]}


def _service_errors(error: ApplicationError, rows: list[Row]) -> str:
    """Put the service's problems on their rows (``conditions.all[2]: …``); what fits no row is returned."""
    rest = []
    for problem in error.extra.get("errors", []) or [error.message]:
        head, _sep, detail = str(problem).partition(": ")
        index = head.rsplit("[", 1)[-1].rstrip("]") if "[" in head else ""
        if index.isdigit() and int(index) < len(rows) and head.count("[") == 1:
            rows[int(index)].error = detail
        else:
            rest.append(detail or str(problem))
    return "; ".join(rest)


def _describe(node: Any, names: dict[str, str], *, top: bool = True) -> str:
    """A stored condition tree in words: "Net spend at least 200 and (Customer tag includes vip or …)"."""
    if not isinstance(node, dict):
        return ""
    for group, joiner in (("all", _(" and ")), ("any", _(" or "))):
        if group in node and isinstance(node[group], list):
            text = joiner.join(_describe(item, names, top=False) for item in node[group])
            return text if top or len(node[group]) < 2 else f"({text})"
    field_name, op, value = node.get("field"), node.get("op"), node.get("value")
    shown = names.get(str(value), str(value)) if field_name == "segment" else str(value)
    return f"{FIELDS.get(str(field_name), field_name)} {OPS.get(str(op), op)} {shown}"


def _flat_rows(conditions: Any) -> tuple[str, list[Row]]:
    """A stored tree as builder rows when it is one group of plain conditions (else no rows)."""
    if isinstance(conditions, dict) and len(conditions) == 1:
        match = next(iter(conditions))
        items = conditions.get(match)
        if match in ("all", "any") and isinstance(items, list) and all(
                isinstance(item, dict) and "field" in item for item in items):
            return match, [Row(field=str(item["field"]), op=str(item["op"]), value=str(item["value"]))
                           for item in items]
    return "all", []


def _segment_keys(access: DashboardAccess) -> dict[str, str]:
    return {row["key"]: row["name"] for row in selectors.segment_counts(shop=access.shop)}


def _page(request: HttpRequest, access: DashboardAccess, *, form: SegmentForm | None = None,
          rows: list[Row] | None = None, status: int = 200, problem: str = "") -> HttpResponse:
    listed = selectors.segment_list(shop=access.shop)
    names = {row["key"]: row["name"] for row in listed}
    editing_key = request.GET.get("edit", "") if request.method == "GET" else request.POST.get("editing", "")
    editing = next((row for row in listed if row["key"] == editing_key and row["kind"] == "merchant"), None)
    if form is None:
        starting = editing["key"] if editing else request.GET.get("from", "")
        match, rows = _flat_rows(next((row["conditions"] for row in listed if row["key"] == starting), None))
        initial = {"match": match, **({"name": editing["name"]} if editing else {})}
        form = SegmentForm(initial=initial, auto_id="segment-%s")
    rows = list(rows or [])
    if not rows or request.POST.get("action") == "add_row":
        rows.append(Row())
    return _render(request, access, status=status, context={
        "form": form, "rows": rows, "problem": problem,
        "field_choices": list(FIELDS.items()), "op_choices": list(OPS.items()),
        "segments": [{**row, "count_shown": formatting.number(row["count"], 0),
                      "rule": row["description"] or _describe(row["conditions"], names),
                      "customers_url": access.url("dashboard:segment", row["key"]),
                      "copy_url": access.url(VIEW, **{"from": row["key"]}) if _flat_rows(row["conditions"])[1]
                      else "",
                      "edit_url": access.url(VIEW, edit=row["key"]) if _flat_rows(row["conditions"])[1]
                      else ""} for row in listed],
        "editing": editing, "new_url": access.url(VIEW),
        "segment_names": sorted(names.items()), "tier_names": [tier.name for tier in active_tiers(shop=access.shop)],
        "count_url": access.url(VIEW, count="1"), "action": form_action(request, access, VIEW),
        "max_rows": MAX_LEAVES, "rows_invalid": any(row.error for row in rows),
    })


def _render(request: HttpRequest, access: DashboardAccess, *, status: int, context: dict[str, Any]) -> HttpResponse:
    response = render_page(request, access, view_name=VIEW, title=_("Segment builder"), template=TEMPLATE, **context)
    response.status_code = status
    return response


def _count(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    """The live count for the rows as they are now (htmx), with the same validation as a save."""
    rows = _rows(request.GET)
    keys = set(_segment_keys(access))
    for row in rows:
        _row_check(row, segment_keys=keys)
    context: dict[str, Any] = {"state": "empty"}
    if rows and any(row.error for row in rows):
        context = {"state": "invalid"}
    elif rows:
        try:
            count = selectors.segment_preview_count(shop=access.shop, conditions=_conditions(
                request.GET.get("match", "all"), rows))
        except ApplicationError as error:
            context = {"state": "invalid", "detail": _service_errors(error, rows) or
                       "; ".join(row.error for row in rows if row.error)}
        else:
            context = {"state": "counted", "count": count, "count_shown": formatting.number(count, 0)}
    return render(request, COUNT_TEMPLATE, context)


def _save(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    form = SegmentForm(request.POST, auto_id="segment-%s")
    rows = _rows(request.POST)
    if request.POST.get("action") == "add_row" or request.POST.get("remove", "").isdigit():
        # adding or removing a row is not a save: the form comes back as it was, without errors
        removed = int(request.POST["remove"]) if request.POST.get("remove", "").isdigit() else -1
        unbound = SegmentForm(initial={name: request.POST.get(name, "") for name in ("name", "key")}
                              | {"match": request.POST.get("match", "all")}, auto_id="segment-%s")
        kept = [row for index, row in enumerate(_rows(request.POST, keep_blank=True)) if index != removed]
        return _page(request, access, form=unbound, rows=[row for row in kept if not row.blank])
    known = _segment_keys(access)
    for row in rows:
        _row_check(row, segment_keys=set(known))
    valid = form.is_valid()
    if not rows:
        form.add_error(None, _("Add at least one condition."))
        valid = False
    if not valid or any(row.error for row in rows):
        return _page(request, access, form=form, rows=rows, status=400)
    editing = request.POST.get("editing", "")[:50]
    if editing:
        return _update(request, access, form=form, rows=rows, key=editing)
    key = form.cleaned_data["key"].lower()
    if not key:
        base = slugify(form.cleaned_data["name"])[:44].strip("-_") or "segment"
        key, suffix = base, 2
        while key in known:
            key, suffix = f"{base}-{suffix}", suffix + 1
    try:
        services.segment_create(shop=access.shop, key=key, name=form.cleaned_data["name"],
                                conditions=_conditions(form.cleaned_data["match"], rows))
    except ApplicationError as error:
        if error.code in ("conflict", "invalid_key"):
            form.add_error("key", _("A segment with this key exists: choose another.") if error.code == "conflict"
                           else _("Use lowercase letters, digits, - and _ (at most 50)."))
        else:
            rest = _service_errors(error, rows)
            if rest:
                form.add_error(None, rest)
        return _page(request, access, form=form, rows=rows, status=400)
    return saved_redirect(access, VIEW)


def _update(request: HttpRequest, access: DashboardAccess, *, form: SegmentForm, rows: list[Row],
            key: str) -> HttpResponse:
    try:
        services.segment_update(shop=access.shop, key=key, name=form.cleaned_data["name"],
                                conditions=_conditions(form.cleaned_data["match"], rows))
    except ApplicationError as error:
        if error.status == 404:
            raise
        if error.code == "predefined_segment":
            raise ApplicationError(_("The predefined segments cannot be changed."), status=409) from error
        rest = _service_errors(error, rows)
        if rest:
            form.add_error(None, rest)
        return _page(request, access, form=form, rows=rows, status=400)
    return saved_redirect(access, VIEW)


@require_http_methods(["GET", "POST"])
@dashboard_view
def settings_segments(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    if request.method != "POST":
        if request.GET.get("count") == "1":
            return _count(request, access)
        return _page(request, access)
    if request.POST.get("action") == "delete":
        try:
            services.segment_delete(shop=access.shop, key=request.POST.get("key", "")[:50])
        except ApplicationError as error:
            if error.status == 404:
                raise
            return _page(request, access, status=error.status, problem=_delete_problem(error))
        return saved_redirect(access, VIEW)
    return _save(request, access)


def _delete_problem(error: ApplicationError) -> str:
    if error.code == "predefined_segment":
        return _("The predefined segments cannot be deleted.")
    if error.code == "segment_in_use":
        used_by = ", ".join(error.extra.get("used_by", []))
        if used_by:
            return _("This segment is used by the segment %(names)s: change or delete that first.") % {
                "names": used_by}
        return _("This segment is used by a flow's step: change the step first.")
    return error.message
