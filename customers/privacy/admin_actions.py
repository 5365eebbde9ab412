"""Admin actions of the customer-data contract: download the export, erase (behind a
confirmation page that shows the stored value and asks for the reason and the decision)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from config.actors import system_actor, user_actor
from config.admin import ReasonForm, confirmed_action, confirming_data
from customers.models import Customer, CustomerErasure
from customers.privacy.export import customer_export_chunks
from customers.services import customer_erase, customer_stored_value


class ErasureForm(ReasonForm):
    stored_value = forms.ChoiceField(
        label=_("Stored value"),
        choices=[
            ("", _("none is held")),
            ("forfeit", _("forfeit to breakage")),
            ("keep", _("keep")),
        ],
        required=False,
        help_text=_("Needed when a customer still holds gift card balance or points."),
    )


def _actor(request: HttpRequest) -> str:
    user = request.user
    return user_actor(user) if isinstance(user, User) else system_actor("admin")


@admin.action(description=_("Download the data export (JSON)"))
def export_customer(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Customer]
) -> HttpResponseBase | None:
    selected = list(queryset.filter(erased_at__isnull=True, merged_into__isnull=True)[:2])
    if len(selected) != 1:
        modeladmin.message_user(
            request, gettext("Select one live customer to export."), messages.ERROR
        )
        return None
    customer = selected[0]
    response = StreamingHttpResponse(
        customer_export_chunks(customer=customer), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="customer-{customer.public_id}.json"'
    return response


@admin.action(description=_("Erase selected customers' personal data…"))
def erase_customers(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Customer]
) -> TemplateResponse | None:
    selected = queryset.filter(merged_into__isnull=True).order_by("pk")
    form = ErasureForm(confirming_data(request))

    def details(customer: Customer) -> list[str]:
        held = customer_stored_value(customer=customer)
        return [
            f"{item['instrument']}: {item.get('amount', item.get('points'))} "
            f"{item.get('currency', item.get('unit'))}"
            for item in held
        ] or [gettext("no stored value")]

    def erase(customer: Customer, form: forms.Form) -> str:
        erasure = customer_erase(
            customer=customer,
            reason=form.cleaned_data["reason"],
            stored_value=form.cleaned_data["stored_value"] or None,
            actor=_actor(request),
        )
        if erasure.status == CustomerErasure.Status.PENDING:
            return gettext("Erased; the clean-up at Stripe will be retried.")
        return gettext("Erased.")

    return confirmed_action(
        modeladmin,
        request,
        selected,
        action="erase_customers",
        title=gettext("Erase customers"),
        explanation=gettext(
            "Names, identifiers, consent evidence and personal free text are removed; payments "
            "and the ledger stay under the pseudonymous id; saved cards are detached at Stripe. "
            "This cannot be undone."
        ),
        confirm_label=gettext("Erase"),
        form=form,
        details=details,
        apply=erase,
    )
