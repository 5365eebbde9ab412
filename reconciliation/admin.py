"""The reconciliation page of the back office: a till-by-day grid of settlements with status
colours, the daily tender mix and the variances as SVG charts drawn on the server, filters,
CSV and XLSX exports; a settlement's page drills down to its payments, and there a clerk with
`reconciliation.change_settlement` closes or reconciles the day (differences need a reason).

Settlement rows are written by services only: the admin has no add, edit or delete form.
"""

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from config.actors import user_actor
from config.errors import KassaError
from merchants.models import Store
from payments.models import Tender
from reconciliation import report
from reconciliation.models import Settlement
from reconciliation.selectors import settlement_list, settlement_payments
from reconciliation.services import settlement_close, settlement_compute, settlement_reconcile

DEFAULT_DAYS = 14


class FilterForm(forms.Form):
    day_from = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    day_to = forms.DateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    store = forms.ModelChoiceField(
        label=gettext_lazy("Store"), queryset=Store.objects.order_by("code"), required=False
    )
    till = forms.CharField(label=gettext_lazy("Till"), required=False, max_length=40)
    method = forms.ChoiceField(
        label=gettext_lazy("Method"),
        required=False,
        choices=[("", "—"), *Tender.Method.choices],
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        today = timezone.localdate()
        data["day_to"] = data.get("day_to") or today
        data["day_from"] = data.get("day_from") or data["day_to"] - timedelta(days=DEFAULT_DAYS - 1)
        if data["day_from"] > data["day_to"]:
            raise forms.ValidationError(_("“From” must not be after “To”."))
        return data


class ReconcileForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Required when the day has differences."),
    )


@admin.register(Settlement)
class SettlementAdmin(admin.ModelAdmin):
    """The change list is the reconciliation page; the change page is a settlement's story."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "export.<str:fmt>",
                self.admin_site.admin_view(self.export_view),
                name="reconciliation_settlement_export",
            ),
            path(
                "<int:pk>/act/",
                self.admin_site.admin_view(require_POST(self.act_view)),
                name="reconciliation_settlement_act",
            ),
        ]
        return own + super().get_urls()

    def _filtered(self, request: HttpRequest) -> tuple[FilterForm, list[Settlement]]:
        form = FilterForm(request.GET or None)
        if request.GET and not form.is_valid():
            return form, []
        data = form.cleaned_data if request.GET else _defaults()
        rows = settlement_list(
            merchant=None,
            store=data.get("store"),
            day_from=data["day_from"],
            day_to=data["day_to"],
            terminal_code=data.get("till") or None,
            method=data.get("method") or None,
        ).order_by("business_day", "id")
        return form, list(rows)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        form, rows = self._filtered(request)
        data = form.cleaned_data if form.is_bound and form.is_valid() else _defaults()
        days = report.grid_days(data["day_from"], data["day_to"])
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reconciliation"),
            "opts": self.model._meta,
            "form": form,
            "days": days,
            "grid": report.grid(rows, days),
            "mixes": report.tender_mix_charts(rows, days),
            "variances": report.variance_charts(rows, days),
            "query": request.GET.urlencode(),
            "statuses": Settlement.Status.choices,
        }
        return TemplateResponse(request, "admin/reconciliation/page.html", context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        settlement: Settlement = get_object_or_404(
            Settlement.objects.select_related("merchant", "store", "terminal"), pk=object_id
        )
        if not self.has_view_or_change_permission(request, settlement):
            raise PermissionDenied
        method = request.GET.get("method") or None
        if method not in Tender.Method.values:
            method = None
        context = {
            **self.admin_site.each_context(request),
            "title": str(settlement),
            "opts": self.model._meta,
            "settlement": settlement,
            "lines": settlement.lines.select_related("adjusts").order_by("kind", "method"),
            "payments": settlement_payments(settlement=settlement, method=method)
            .select_related("terminal")
            .prefetch_related("tenders")[:500],
            "method": method,
            "methods": Tender.Method.choices,
            "can_act": self.has_change_permission(request, settlement) and not settlement.is_locked,
            "reconcile_form": ReconcileForm(),
        }
        return TemplateResponse(request, "admin/reconciliation/settlement.html", context)

    def act_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Recompute, close or reconcile one settlement (POST, CSRF-checked by the admin)."""
        settlement = get_object_or_404(Settlement, pk=pk)
        if not self.has_change_permission(request, settlement):
            raise PermissionDenied
        action = request.POST.get("action", "")
        actor = user_actor(request.user)
        form = ReconcileForm(request.POST)
        try:
            if action == "compute":
                settlement_compute(
                    merchant=settlement.merchant,
                    store=settlement.store,
                    business_day=settlement.business_day,
                )
                done = _("Recomputed.")
            elif action == "close":
                settlement_close(settlement=settlement, actor=actor)
                done = _("Day closed.")
            elif action == "reconcile" and form.is_valid():
                settlement_reconcile(
                    settlement=settlement, actor=actor, reason=form.cleaned_data["reason"]
                )
                done = _("Day reconciled.")
            else:
                raise PermissionDenied
        except KassaError as error:
            messages.error(request, f"{error.detail} ({error.code})")
        else:
            messages.success(request, done)
            LogEntry.objects.log_actions(
                user_id=request.user.pk,  # type: ignore[arg-type]
                queryset=[settlement],
                action_flag=CHANGE,
                change_message=f"{action}: {request.POST.get('reason', '')}".strip(": "),
            )
        return HttpResponseRedirect(
            reverse("admin:reconciliation_settlement_change", args=[settlement.pk])
        )

    def export_view(self, request: HttpRequest, fmt: str) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        _form, rows = self._filtered(request)
        stamp = timezone.localdate().isoformat()
        if fmt == "csv":
            response = HttpResponse(report.export_csv(rows), content_type="text/csv")
        elif fmt == "xlsx":
            response = HttpResponse(
                report.export_xlsx(rows),
                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        else:
            raise PermissionDenied
        response["Content-Disposition"] = f'attachment; filename="settlements-{stamp}.{fmt}"'
        return response


def _defaults() -> dict[str, Any]:
    today = timezone.localdate()
    return {"day_from": today - timedelta(days=DEFAULT_DAYS - 1), "day_to": today}
