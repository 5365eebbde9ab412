"""Back office for customer knowledge: segments (rules written here, learned clusters shown),
profiles with the expected next purchase, and campaigns with their report against the holdout.
Memberships, profiles and campaign draws are written by services only."""

from decimal import Decimal
from functools import partial
from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from config.admin import ReadOnlyAdmin, ReadOnlyInline
from config.errors import KassaError
from insights.models import (
    LAUNCH_PERMISSION,
    Campaign,
    CampaignMember,
    Profile,
    Segment,
    SegmentMember,
)
from insights.selectors import campaign_report, campaign_vouchers_pending
from insights.services import segments_evaluate, segments_learn
from insights.services.campaigns import campaign_draw
from insights.tasks import campaign_issue_task
from merchants.models import Merchant


class SegmentMemberInline(ReadOnlyInline):
    model = SegmentMember
    fields = ("customer",)
    max_num = 0


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "rules_text", "members_", "evaluated_at", "merchant")
    list_filter = ("kind", "merchant")
    search_fields = ("name",)
    fields = (
        "merchant",
        "name",
        "channels",
        "within_days",
        "min_spend",
        "currency",
        "min_orders",
        "max_recency_days",
        "category",
        "kind",
        "rules_text",
        "evaluated_at",
    )
    readonly_fields = ("kind", "rules_text", "evaluated_at")
    inlines = (SegmentMemberInline,)
    actions = ["evaluate", "learn"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Segment]:
        return super().get_queryset(request).annotate(member_count=Count("members"))

    @admin.display(description=_("members"), ordering="member_count")
    def members_(self, obj: Segment) -> int:
        return getattr(obj, "member_count", 0)

    @admin.display(description=_("rules"))
    def rules_text(self, obj: Segment) -> str:
        return obj.rules_text

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        learned = obj is not None and obj.kind == Segment.Kind.CLUSTER
        return not learned and super().has_change_permission(request, obj)

    @admin.action(
        description=_("Evaluate the rule segments of these merchants now"), permissions=["change"]
    )
    def evaluate(self, request: HttpRequest, queryset: QuerySet[Segment]) -> None:
        for merchant in Merchant.objects.filter(pk__in=queryset.values("merchant_id")):
            written = segments_evaluate(merchant=merchant)
            self.message_user(
                request,
                gettext("%(segments)d rule segments evaluated, %(members)d members.")
                % {"segments": len(written), "members": sum(written.values())},
            )

    @admin.action(
        description=_("Learn the clusters of these merchants' customers now"),
        permissions=["change"],
    )
    def learn(self, request: HttpRequest, queryset: QuerySet[Segment]) -> None:
        for merchant in Merchant.objects.filter(pk__in=queryset.values("merchant_id")):
            learned = segments_learn(merchant=merchant)
            self.message_user(
                request,
                gettext(
                    "%(clusters)d clusters of %(customers)d customers (silhouette %(silhouette)s)."
                )
                % {
                    "clusters": len(learned.describe),
                    "customers": len(learned.labels),
                    "silhouette": learned.silhouette,
                },
            )


@admin.register(Profile)
class ProfileAdmin(ReadOnlyAdmin):
    list_display = (
        "customer",
        "recency_days",
        "frequency",
        "spend_by_channel",
        "favourite_categories",
        "expected_next_at",
        "expected_categories",
    )
    search_fields = ("customer__public_id",)
    fields = (*list_display, "segments_", "computed_at")
    readonly_fields = fields

    @admin.display(description=_("segments"))
    def segments_(self, obj: Profile) -> str:
        names = SegmentMember.objects.filter(customer_id=obj.customer_id).values_list(
            "segment__name", flat=True
        )
        return ", ".join(sorted(names)) or "-"


class CampaignMemberInline(ReadOnlyInline):
    model = CampaignMember
    fields = ("customer", "holdout", "voucher")
    max_num = 0


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "segment", "holdout_percent", "launched_at", "merchant")
    list_filter = ("merchant",)
    fields = (
        "merchant",
        "name",
        "segment",
        "currency",
        "amount",
        "percent",
        "minimum_basket",
        "channels",
        "valid_days",
        "holdout_percent",
        "seed",
        "launched_at",
        "report",
    )
    readonly_fields = ("launched_at", "report")
    inlines = (CampaignMemberInline,)
    actions = ["launch"]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "segment":
            merchant = self._editing_merchant(request)
            if merchant is not None:
                kwargs["queryset"] = Segment.objects.filter(merchant_id=merchant)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _editing_merchant(self, request: HttpRequest) -> int | None:
        """The merchant of the campaign being edited (segments offered are only theirs)."""
        match = request.resolver_match
        object_id = match.kwargs.get("object_id") if match else None
        if not object_id or not str(object_id).isdigit():
            return None
        return Campaign.objects.filter(pk=object_id).values_list("merchant_id", flat=True).first()

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and obj.launched_at is not None:
            return self.fields  # the draw and the vouchers are made: the terms are history
        return self.readonly_fields

    def has_launch_permission(self, request: HttpRequest) -> bool:
        """Launching issues vouchers: a permission of its own, not mere view or change."""
        return request.user.has_perm(f"insights.{LAUNCH_PERMISSION}")

    @admin.action(
        description=_("Launch: draw the holdout and issue the vouchers"), permissions=["launch"]
    )
    def launch(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        """Draw now (refusals shown here); the vouchers are issued by a task, in batches.

        Launching a drawn campaign whose vouchers are not all issued queues the task again.
        """
        for campaign in queryset.order_by("pk"):
            try:
                drawn = campaign_draw(campaign=campaign)
            except KassaError as error:
                self.message_user(request, f"{campaign}: {error.detail}", messages.ERROR)
                continue
            pending = campaign_vouchers_pending(campaign=drawn)
            if pending:
                transaction.on_commit(partial(campaign_issue_task.delay, drawn.pk))
            self.message_user(
                request,
                gettext(
                    "%(campaign)s: launched at %(at)s; %(pending)s vouchers to issue"
                    " in the background."
                )
                % {"campaign": drawn, "at": f"{drawn.launched_at:%c}", "pending": pending},
            )

    @admin.display(description=_("report against the holdout"))
    def report(self, obj: Campaign) -> SafeString | str:
        report = None if obj.pk is None else campaign_report(campaign=obj)
        if report is None:
            return gettext("Not launched yet.")

        def interval(low: Decimal | None, high: Decimal | None, spec: str = "") -> str:
            return "-" if low is None or high is None else f"[{low:{spec}}, {high:{spec}}]"

        rows = [
            (gettext("customers"), report.targeted, report.holdout, "", ""),
            (gettext("used the voucher"), f"{report.redemption_rate:.2%}", "-", "", ""),
            (
                gettext("bought in the window"),
                f"{report.buying.targeted:.2%}",
                f"{report.buying.holdout:.2%}",
                f"{report.buying.difference:+.2%}",
                interval(report.buying.low, report.buying.high, "+.2%"),
            ),
            (
                gettext("revenue per customer (%(currency)s)") % {"currency": report.currency},
                report.revenue.targeted,
                report.revenue.holdout,
                f"{report.revenue.difference:+}",
                interval(report.revenue.low, report.revenue.high),
            ),
        ]
        body = format_html_join(
            "",
            "<tr><th scope='row'>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            rows,
        )
        return format_html(
            "<p>{}</p><table id='campaign-report'><caption>{}</caption>"
            "<thead><tr><th scope='col'>{}</th><th scope='col'>{}</th>"
            "<th scope='col'>{}</th><th scope='col'>{}</th>"
            "<th scope='col'>{}</th></tr></thead><tbody>{}</tbody></table>",
            gettext("From %(since)s to %(until)s.")
            % {"since": f"{report.since:%Y-%m-%d}", "until": f"{report.until:%Y-%m-%d}"},
            gettext("Targeted against holdout"),
            gettext("measure"),
            gettext("targeted"),
            gettext("holdout"),
            gettext("difference"),
            # xgettext:no-python-format
            gettext("95% interval"),
            body,
        )
