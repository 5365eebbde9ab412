"""Purchases with printable receipts, and privacy: consents, export, erasure."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from customers.models import ConsentPurpose, Customer
from customers.selectors import consent_current
from portal import privacy, selectors, services
from portal.forms import ConsentForm, EraseForm
from portal.session import customer_required, sign_out
from wallet.selectors import customer_wallet


@customer_required
def purchases_view(request: HttpRequest, customer: Customer) -> HttpResponse:
    purchases = selectors.purchases_of(customer=customer)[:100]
    return render(request, "portal/purchases.html", {"purchases": purchases})


@customer_required
def receipt_view(request: HttpRequest, customer: Customer, public_id: str) -> HttpResponse:
    purchase = selectors.purchase_of(customer=customer, public_id=public_id)
    return render(request, "portal/receipt.html", {"purchase": purchase, "customer": customer})


@customer_required
def privacy_view(request: HttpRequest, customer: Customer) -> HttpResponse:
    current = consent_current(customer=customer)
    consents = [
        {"purpose": purpose, "label": label, "event": current.get(purpose)}
        for purpose, label in ConsentPurpose.choices
    ]
    context = {"consents": consents, "history": selectors.consent_history(customer=customer)}
    return render(request, "portal/privacy.html", context)


@require_POST
@customer_required
def consent_view(request: HttpRequest, customer: Customer) -> HttpResponse:
    form = ConsentForm(request.POST)
    if form.is_valid():
        services.consent_set(
            customer=customer,
            purpose=form.cleaned_data["purpose"],
            granted=form.cleaned_data["granted"],
        )
        messages.success(request, _("Your choice is saved."))
    return redirect("portal:privacy")


@customer_required
def export_view(request: HttpRequest, customer: Customer) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        privacy.export_chunks(customer), content_type="application/json; charset=utf-8"
    )
    name = f"kassa-my-data-{timezone.localdate():%Y-%m-%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@customer_required
def erase_view(request: HttpRequest, customer: Customer) -> HttpResponse:
    """Explain what is kept and why, show the gift card value left, ask keep or forfeit."""
    gift_cards = [
        card for card in customer_wallet(customer=customer).gift_cards if card.account.available > 0
    ]
    form = EraseForm(request.POST or None)
    if not gift_cards:
        del form.fields["stored_value"]
    if request.method == "POST" and form.is_valid():
        privacy.erase(
            customer=customer,
            stored_value=form.cleaned_data.get("stored_value"),
            reason=form.cleaned_data["reason"],
        )
        sign_out(request)
        return redirect("portal:erased")
    return render(request, "portal/erase.html", {"form": form, "gift_cards": gift_cards})


def erased_view(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/erased.html")
