"""Back office for the identity graph: find anyone by any identifier, merge, review conflicts.

Every change goes through the services (merge, unmerge, conflict resolution, identifier
removal), each behind a confirmation page that asks for the reason recorded in the audit.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from config.admin import (
    ReadOnlyAdmin,
    ReadOnlyInline,
    ReasonForm,
    confirmed_action,
    confirming_data,
)
from customers.models import (
    ConsentEvent,
    Customer,
    CustomerMerge,
    Identifier,
    IdentityConflict,
)
from customers.normalisation import identifier_normalise_any
from customers.privacy.admin_actions import erase_customers, export_customer
from customers.selectors import customers_with_identifier
from customers.services import (
    customer_merge,
    customer_unmerge,
    identifier_remove,
    identity_conflict_resolve,
    user_actor,
)


class CustomerMergeForm(ReasonForm):
    survivor = forms.ModelChoiceField(
        label=_("Survivor"),
        queryset=Customer.objects.none(),
        widget=forms.RadioSelect,
        empty_label=None,
    )

    def __init__(self, *args: Any, customers: QuerySet[Customer], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        survivor = self.fields["survivor"]
        assert isinstance(survivor, forms.ModelChoiceField)
        survivor.queryset = customers


def _user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _actor(request: HttpRequest) -> str:
    user = _user(request)
    return user_actor(user) if user else "back office"


def _identifier_lines(customer: Customer) -> list[str]:
    live = customer.identifiers.filter(removed_at__isnull=True).order_by("kind", "value")
    return [
        (
            gettext("%(kind)s: %(value)s (verified)")
            if i.verified
            else gettext("%(kind)s: %(value)s")
        )
        % {"kind": i.kind, "value": i.value}
        for i in live
    ]


class IdentifierInline(ReadOnlyInline):
    model = Identifier
    fields = ("kind", "value", "verified", "source_channel", "first_seen_at", "last_seen_at")
    ordering = ("kind", "value")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Identifier]:
        return super().get_queryset(request).filter(removed_at__isnull=True)


class ConsentEventInline(ReadOnlyInline):
    model = ConsentEvent
    fields = ("recorded_at", "purpose", "granted", "channel", "evidence")
    ordering = ("-recorded_at",)


class MergesKeptInline(ReadOnlyInline):
    model = CustomerMerge
    fk_name = "survivor"
    verbose_name_plural = _("merges into this customer")
    fields = ("absorbed", "source", "actor", "reason", "created_at", "unmerged_at")


class MergesLostInline(MergesKeptInline):
    fk_name = "absorbed"
    verbose_name_plural = _("merged away into")
    fields = ("survivor", "source", "actor", "reason", "created_at", "unmerged_at")


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    """Search finds a customer by name, id, or any identifier in any spelling."""

    list_display = ("__str__", "public_id", "merchant", "merged_into", "erased_at", "created_at")
    list_filter = ("merchant",)
    search_fields = ("first_name", "last_name", "public_id")
    search_help_text = _("Name, customer id, or any email, phone, loyalty card or account id.")
    readonly_fields = ("public_id", "merged_into", "erased_at", "created_at", "updated_at")
    inlines = [IdentifierInline, ConsentEventInline, MergesKeptInline, MergesLostInline]
    actions = ["merge_customers", erase_customers, export_customer]

    def get_readonly_fields(self, request: HttpRequest, obj: Customer | None = None) -> Any:
        return (*self.readonly_fields, "merchant") if obj else self.readonly_fields

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Customer], search_term: str
    ) -> tuple[QuerySet[Customer], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if search_term.strip():
            results |= queryset.filter(pk__in=customers_with_identifier(term=search_term))
        return results, may_have_duplicates

    @admin.action(description=_("Merge selected customers…"))
    def merge_customers(
        self, request: HttpRequest, queryset: QuerySet[Customer]
    ) -> TemplateResponse | None:
        selected = queryset.filter(merged_into__isnull=True).order_by("pk")
        if selected.count() < 2 or selected.values("merchant").distinct().count() != 1:
            self.message_user(
                request,
                gettext("Select at least two live customers of one merchant to merge."),
                messages.ERROR,
            )
            return None
        form = CustomerMergeForm(confirming_data(request), customers=selected)

        def merge_into_survivor(customer: Customer, form: forms.Form) -> str:
            data = form.cleaned_data
            survivor = data["survivor"]
            if customer.pk == survivor.pk:
                return gettext("%(survivor)s keeps everything merged into it.") % {
                    "survivor": survivor
                }
            customer_merge(
                survivor=survivor,
                absorbed=customer,
                reason=data["reason"],
                source=CustomerMerge.Source.ADMIN,
                actor=_actor(request),
                user=_user(request),
            )
            return gettext("Merged %(absorbed)s into %(survivor)s.") % {
                "absorbed": customer,
                "survivor": survivor,
            }

        return confirmed_action(
            self,
            request,
            selected,
            action="merge_customers",
            title=gettext("Merge customers"),
            explanation=gettext(
                "The customer you choose keeps the identifiers, wallet, payments and consent "
                "history of the others, which become redirecting tombstones. The merge is "
                "recorded with your reason and can be undone from Customer merges."
            ),
            confirm_label=gettext("Merge"),
            form=form,
            details=_identifier_lines,
            apply=merge_into_survivor,
        )


@admin.register(CustomerMerge)
class CustomerMergeAdmin(admin.ModelAdmin):
    """The merge audit: who merged whom, why, exactly which rows moved; undo from here."""

    list_display = ("absorbed", "survivor", "source", "actor", "created_at", "unmerged_at")
    list_filter = ("source", "merchant", "unmerged_at")
    search_fields = ("survivor__public_id", "absorbed__public_id", "actor", "reason")
    actions = ["unmerge"]

    def get_readonly_fields(self, request: HttpRequest, obj: CustomerMerge | None = None) -> Any:
        return [field.name for field in CustomerMerge._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Undo selected merges…"))
    def unmerge(
        self, request: HttpRequest, queryset: QuerySet[CustomerMerge]
    ) -> TemplateResponse | None:
        def undo(merge: CustomerMerge, form: forms.Form) -> str:
            data = form.cleaned_data
            customer_unmerge(
                merge=merge,
                reason=data["reason"],
                actor=_actor(request),
            )
            return gettext("Undid the merge of %(absorbed)s into %(survivor)s.") % {
                "absorbed": merge.absorbed,
                "survivor": merge.survivor,
            }

        return confirmed_action(
            self,
            request,
            queryset.select_related("survivor", "absorbed"),
            action="unmerge",
            title=gettext("Undo merges"),
            explanation=gettext(
                "Exactly the rows each merge moved go back and the absorbed customer is revived. "
                "A merge that something newer depends on is refused."
            ),
            confirm_label=gettext("Undo"),
            form=ReasonForm(confirming_data(request)),
            details=lambda merge: [
                gettext("moved %(model)s: %(count)s")
                % {"model": m["model"], "count": len(m["pks"])}
                for m in merge.moved
            ],
            apply=undo,
        )


@admin.register(IdentityConflict)
class IdentityConflictAdmin(admin.ModelAdmin):
    """Presentations the merge policy would not settle, waiting for a person to decide."""

    list_display = ("__str__", "best_match", "status", "occurrences", "channel", "last_seen_at")
    list_filter = ("status", "merchant", "channel")
    actions = ["merge", "dismiss"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [field.name for field in IdentityConflict._meta.fields] + ["customers"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def _resolve(
        self, request: HttpRequest, queryset: QuerySet[IdentityConflict], *, merge: bool
    ) -> TemplateResponse | None:
        def resolve(conflict: IdentityConflict, form: forms.Form) -> str:
            data = form.cleaned_data
            identity_conflict_resolve(
                conflict=conflict,
                merge=merge,
                actor=_actor(request),
                note=data["reason"],
                user=_user(request),
            )
            done = gettext("Merged %(conflict)s.") if merge else gettext("Dismissed %(conflict)s.")
            return done % {"conflict": conflict}

        return confirmed_action(
            self,
            request,
            queryset.filter(status=IdentityConflict.Status.OPEN),
            action="merge" if merge else "dismiss",
            title=gettext("Merge conflicting customers") if merge else gettext("Dismiss conflicts"),
            explanation=(
                gettext("Each conflict's customers are merged into its best match.")
                if merge
                else gettext("The customers stay separate; the conflict is closed.")
            ),
            confirm_label=gettext("Merge") if merge else gettext("Dismiss"),
            form=ReasonForm(confirming_data(request)),
            details=lambda conflict: [
                f"{c}: {', '.join(_identifier_lines(c))}" for c in conflict.customers.all()
            ],
            apply=resolve,
        )

    @admin.action(description=_("Merge into the best match…"))
    def merge(
        self, request: HttpRequest, queryset: QuerySet[IdentityConflict]
    ) -> TemplateResponse | None:
        return self._resolve(request, queryset, merge=True)

    @admin.action(description=_("Dismiss: not the same person…"))
    def dismiss(
        self, request: HttpRequest, queryset: QuerySet[IdentityConflict]
    ) -> TemplateResponse | None:
        return self._resolve(request, queryset, merge=False)


@admin.register(Identifier)
class IdentifierAdmin(admin.ModelAdmin):
    """Identifiers are added by identification only, so every value is normalised."""

    list_display = ("kind", "value", "customer", "verified", "source_channel", "removed_at")
    list_filter = ("kind", "verified", "source_channel", "merchant")
    search_fields = ("value",)
    actions = ["remove"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [field.name for field in Identifier._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Identifier], search_term: str
    ) -> tuple[QuerySet[Identifier], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        for kind, value in identifier_normalise_any(search_term):
            results |= queryset.filter(kind=kind, value=value)
        return results, may_have_duplicates

    @admin.action(description=_("Remove selected identifiers from their customers"))
    def remove(self, request: HttpRequest, queryset: QuerySet[Identifier]) -> None:
        for identifier in queryset.filter(removed_at__isnull=True):
            identifier_remove(identifier=identifier)
        self.message_user(request, gettext("Removed; the values are free to be used again."))


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyAdmin):
    """Consent history, read-only: changes are recorded through the API or the portal."""

    list_display = ("customer", "purpose", "granted", "channel", "recorded_at")
    list_filter = ("purpose", "granted", "channel")
    search_fields = ("customer__public_id",)
