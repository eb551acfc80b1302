"""Data and privacy: how the store's data arrives (the history import's progress, the last webhook,
the last reconciliation and a "reconcile now" button), a CSV import of historic orders (the
``import_orders`` command's validation, with each rejected row's line and reason), and the
customers' data exports (requested here or by the platform, downloaded as JSON, as the API).

Posts carry ``action`` = ``reconcile``, ``import`` or ``export``; ``?export=<id>`` downloads one."""

import io
import json
from datetime import datetime
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from analytics.services.importer import ImportResult, orders_import
from commerce.models import Platform
from dashboard import formatting
from dashboard.auth import DashboardAccess, dashboard_view, form_action
from dashboard.views import render_page
from integrations import selectors, services
from integrations.models import DeliveryStatus, SyncStatus
from retention_app.errors import ApplicationError
from retention_app.locale_format import format_datetime

VIEW = "dashboard:settings_data"
TEMPLATE = "dashboard/settings/data.html"
SYNC_TEMPLATE = "dashboard/settings/_data_sync.html"
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
NOTICES = {
    "reconcile_queued": gettext_lazy("The reconciliation has started: changes the webhooks missed arrive in a few "
                                     "minutes."),
    "reconcile_running": gettext_lazy("A reconciliation is already running; it is not started twice."),
    "export_ready": gettext_lazy("The customer's data is ready to download below."),
}
RESOURCES = {"customers": gettext_lazy("Customers"), "products": gettext_lazy("Products"),
             "orders": gettext_lazy("Orders"), "refunds": gettext_lazy("Refunds")}


class OrdersImportForm(forms.Form):
    action = forms.CharField(widget=forms.HiddenInput, initial="import")
    file = forms.FileField(
        label=gettext_lazy("Orders CSV file"),
        help_text=gettext_lazy("UTF-8 with a header row: order_id, customer_id, email, processed_at, total, currency; "
                               "optional cost, refunded, product. Amounts in the store's currency with a dot for "
                               "decimals. At most 5 MB; importing the same file again changes nothing."))

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 5 MB: split it, or ask us to run the import "
                                          "for you."))
        return upload


class ExportRequestForm(forms.Form):
    action = forms.CharField(widget=forms.HiddenInput, initial="export")
    customer = forms.CharField(label=gettext_lazy("Customer's email or id in the store"), max_length=320,
                               help_text=gettext_lazy("Everything Comeback holds about the customer, as a JSON file "
                                                      "(for a shopper who asked for their data)."))


def _when(value: datetime | None, access: DashboardAccess) -> str:
    return format_datetime(value, zone=access.shop.timezone or "UTC") if value else ""


def _status_label(status: str) -> str:
    return str(SyncStatus(status).label) if status in SyncStatus.values else status


def _sync(access: DashboardAccess) -> dict[str, Any] | None:
    run = selectors.sync_latest(shop=access.shop)
    if run is None:
        return None
    progress = [{"name": RESOURCES.get(resource, resource), "objects": formatting.number(
        (entry or {}).get("objects", 0) if isinstance(entry, dict) else entry, 0),
        "done": bool(isinstance(entry, dict) and entry.get("done")) or run.status == SyncStatus.COMPLETED}
        for resource, entry in (run.progress or {}).items()]
    return {"status": run.status, "status_label": _status_label(run.status), "progress": progress,
            "started": _when(run.started_at, access), "finished": _when(run.finished_at, access),
            "error": run.error if run.status == SyncStatus.FAILED else ""}


def _reconcile(access: DashboardAccess) -> dict[str, Any] | None:
    run = selectors.reconcile_latest(shop=access.shop)
    if run is None:
        return None
    counts = [{"name": RESOURCES.get(resource, resource), "objects": formatting.number(count, 0)}
              for resource, count in (run.progress or {}).items() if isinstance(count, int)]
    return {"status": run.status, "status_label": _status_label(run.status), "counts": counts,
            "started": _when(run.started_at, access), "finished": _when(run.finished_at, access),
            "error": run.error if run.status == SyncStatus.FAILED else ""}


def _webhook(access: DashboardAccess) -> dict[str, Any] | None:
    delivery = selectors.webhook_latest(shop=access.shop)
    if delivery is None:
        return None
    label = DeliveryStatus(delivery.status).label if delivery.status in DeliveryStatus.values else delivery.status
    return {"topic": delivery.topic, "received": _when(delivery.received_at, access), "status": delivery.status,
            "status_label": label, **selectors.webhook_failures(shop=access.shop)}


def _import_summary(result: ImportResult) -> dict[str, Any]:
    return {"rows": formatting.number(result.rows, 0), "created": formatting.number(result.created, 0),
            "updated": formatting.number(result.updated, 0), "unchanged": formatting.number(result.unchanged, 0),
            "duplicates": formatting.number(result.duplicates, 0), "customers": formatting.number(
                result.customers_created, 0), "error_count": result.error_count,
            "errors_shown": formatting.number(result.error_count, 0),
            "errors": result.errors, "more": formatting.number(result.error_count - len(result.errors), 0)
            if result.error_count > len(result.errors) else ""}


def _connected(access: DashboardAccess) -> bool:
    return access.shop.platform != Platform.STANDALONE and access.shop.is_installed


def _page(request: HttpRequest, access: DashboardAccess, *, import_form: OrdersImportForm | None = None,
          export_form: ExportRequestForm | None = None, imported: ImportResult | None = None,
          problem: str = "", status: int = 200) -> HttpResponse:
    shop = access.shop
    notice = NOTICES.get(request.GET.get("notice", ""), "") if request.method == "GET" else ""
    exports = [{"export": export, "created": _when(export.created_at, access),
                "source": _("You") if export.request_id.startswith("merchant-") else shop.get_platform_display(),
                "download_url": access.url(VIEW, export=export.pk)}
               for export in selectors.data_export_list(shop=shop)[:100]]
    response = render_page(
        request, access, view_name=VIEW, title=_("Data and privacy"), template=TEMPLATE,
        connected=_connected(access), sync_url=access.url(VIEW, part="sync"),
        platform=shop.get_platform_display(), sync=_sync(access), reconcile=_reconcile(access),
        webhook=_webhook(access), notice=notice, problem=problem, action=form_action(request, access, VIEW),
        import_form=import_form or OrdersImportForm(auto_id="import-%s"),
        export_form=export_form or ExportRequestForm(auto_id="export-%s"),
        imported=_import_summary(imported) if imported is not None else None, exports=exports,
        currency=shop.currency)
    response.status_code = status
    return response


def _download(access: DashboardAccess, export_id: str) -> HttpResponse:
    export = selectors.data_export_get(shop=access.shop, export_id=int(export_id)) if export_id.isdigit() \
        and len(export_id) < 18 else None
    if export is None:
        raise ApplicationError(_("Not found."), status=404, code="not_found")
    response = HttpResponse(json.dumps(export.data, ensure_ascii=False, indent=2, default=str),
                            content_type="application/json; charset=utf-8")
    name = slugify(f"{access.shop.domain}-customer-{export.customer_platform_id}-{export.pk}") or str(export.pk)
    response["Content-Disposition"] = f'attachment; filename="comeback-{name}.json"'
    return response


def _import(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    form = OrdersImportForm(request.POST, request.FILES, auto_id="import-%s")
    if not form.is_valid():
        return _page(request, access, import_form=form, status=400)
    try:
        text = form.cleaned_data["file"].read().decode("utf-8-sig")
    except UnicodeDecodeError:
        form.add_error("file", _("The file is not UTF-8 text: save it as “CSV UTF-8” and upload it again."))
        return _page(request, access, import_form=form, status=400)
    try:
        result = orders_import(domain=access.shop.domain, platform=access.shop.platform,
                               file=io.StringIO(text, newline=""))
    except ApplicationError as error:  # the file as a whole (header, no rows)
        form.add_error("file", error.message)
        return _page(request, access, import_form=form, status=400)
    return _page(request, access, imported=result)


@require_http_methods(["GET", "POST"])
@dashboard_view
def settings_data(request: HttpRequest, access: DashboardAccess) -> HttpResponse:
    if request.method != "POST":
        if "export" in request.GET:
            return _download(access, request.GET["export"])
        if request.GET.get("part") == "sync":  # the progress, polled while the history is importing
            return render(request, SYNC_TEMPLATE, {"sync": _sync(access), "connected": _connected(access),
                                                   "sync_url": access.url(VIEW, part="sync")})
        return _page(request, access)
    action = request.POST.get("action", "")
    if action == "reconcile":
        try:
            state = services.reconcile_request(shop=access.shop)
        except ApplicationError as error:
            return _page(request, access, problem=error.message, status=error.status)
        return HttpResponseRedirect(access.url(VIEW, notice=f"reconcile_{state}"))
    if action == "import":
        return _import(request, access)
    if action == "export":
        form = ExportRequestForm(request.POST, auto_id="export-%s")
        if not form.is_valid():
            return _page(request, access, export_form=form, status=400)
        try:
            services.data_export_request(shop=access.shop, customer=form.cleaned_data["customer"])
        except ApplicationError as error:
            form.add_error("customer", error.message)
            return _page(request, access, export_form=form, status=400)
        return HttpResponseRedirect(access.url(VIEW, notice="export_ready"))
    raise ApplicationError(_("Unknown action."), status=400)
