"""The wallet: balances, each instrument's history, claiming a gift card, linking a loyalty
card, and saved bank cards (Stripe.js + SetupIntent)."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.errors import KassaError
from customers.models import Customer
from portal import cards, selectors, services
from portal.forms import CardSaveForm, ClaimForm, CodeForm, LoyaltyLinkForm
from portal.models import OneTimeCode
from portal.session import customer_required, pending_code, pending_code_set
from portal.views.common import client_ip, form_refuse, refusal_message
from wallet.models import BankCard
from wallet.selectors import bank_card_get, customer_wallet, loyalty_points_value
from wallet.services import bank_card_remove, bank_card_set_default

Purpose = OneTimeCode.Purpose


@customer_required
def wallet_view(request: HttpRequest, customer: Customer) -> HttpResponse:
    wallet = customer_wallet(customer=customer)
    loyalty = [
        {
            "account": account,
            "value": loyalty_points_value(account=account),
            "next_expiry": selectors.points_next_expiry(account=account),
        }
        for account in wallet.loyalty_accounts
    ]
    context = {"customer": customer, "wallet": wallet, "loyalty": loyalty}
    return render(request, "portal/wallet.html", context)


@customer_required
def gift_card_view(request: HttpRequest, customer: Customer, public_id: str) -> HttpResponse:
    card = selectors.gift_card_of(customer=customer, public_id=public_id)
    history = selectors.instrument_history(ledger_account_id=card.account_id)
    return render(request, "portal/gift_card.html", {"card": card, "history": history})


@customer_required
def loyalty_view(request: HttpRequest, customer: Customer, public_id: str) -> HttpResponse:
    account = selectors.loyalty_account_of(customer=customer, public_id=public_id)
    context = {
        "account": account,
        "value": loyalty_points_value(account=account),
        "next_expiry": selectors.points_next_expiry(account=account),
        "history": selectors.instrument_history(ledger_account_id=account.account_id),
    }
    return render(request, "portal/loyalty.html", context)


@customer_required
def claim_view(request: HttpRequest, customer: Customer) -> HttpResponse:
    form = ClaimForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            card = services.gift_card_claim_by_code(
                customer=customer,
                code=form.cleaned_data["code"],
                pin=form.cleaned_data["pin"],
                client_ip=client_ip(request),
            )
        except KassaError as error:
            form_refuse(form, error)
        else:
            messages.success(request, _("The gift card is now in your wallet."))
            return redirect("portal:gift_card", public_id=card.public_id)
    return render(request, "portal/claim.html", {"form": form})


@customer_required
def loyalty_link_view(request: HttpRequest, customer: Customer) -> HttpResponse:
    form = LoyaltyLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            row = services.loyalty_link_start(
                customer=customer,
                card_number=form.cleaned_data["card_number"],
                client_ip=client_ip(request),
            )
        except KassaError as error:
            form_refuse(form, error, "card_number")
        else:
            pending_code_set(
                request.session, code_id=row.pk, purpose=Purpose.LINK_LOYALTY, shown=""
            )
            return redirect("portal:loyalty_link_code")
    return render(request, "portal/loyalty_link.html", {"form": form})


@customer_required
def loyalty_link_code_view(request: HttpRequest, customer: Customer) -> HttpResponse:
    pending = pending_code(request.session)
    if pending is None or pending["purpose"] != Purpose.LINK_LOYALTY:
        return redirect("portal:loyalty_link")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.loyalty_link_confirm(
                customer=customer, code_id=int(pending["id"]), code=form.cleaned_data["code"]
            )
        except KassaError as error:
            form_refuse(form, error, "code")
        else:
            request.session.pop("portal_pending_code", None)
            messages.success(request, _("Your loyalty card is linked to your account."))
            return redirect("portal:wallet")
    return render(request, "portal/loyalty_link_code.html", {"form": form})


@customer_required
def bank_cards_view(request: HttpRequest, customer: Customer) -> HttpResponse:
    context = {
        "cards": customer_wallet(customer=customer).bank_cards,
        "client_secret": cards.setup_intent_create(customer=customer),
        "stripe_js": cards.stripe_js_url(),
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
    }
    return render(request, "portal/bank_cards.html", context)


@require_POST
@customer_required
def bank_card_save_view(request: HttpRequest, customer: Customer) -> HttpResponse:
    form = CardSaveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("This card could not be saved."))
        return redirect("portal:bank_cards")
    try:
        card = cards.card_save(customer=customer, setup_intent_id=form.cleaned_data["setup_intent"])
    except KassaError as error:
        messages.error(request, refusal_message(error))
    else:
        messages.success(request, _("Card ending %(last4)s saved.") % {"last4": card.last4})
    return redirect("portal:bank_cards")


@require_POST
@customer_required
def bank_card_default_view(
    request: HttpRequest, customer: Customer, public_id: str
) -> HttpResponse:
    card = _own_card(customer, public_id)
    bank_card_set_default(bank_card=card)
    messages.success(
        request, _("Card ending %(last4)s is now your default.") % {"last4": card.last4}
    )
    return redirect("portal:bank_cards")


@require_POST
@customer_required
def bank_card_remove_view(request: HttpRequest, customer: Customer, public_id: str) -> HttpResponse:
    card = _own_card(customer, public_id)
    bank_card_remove(bank_card=card)
    messages.success(request, _("Card ending %(last4)s removed.") % {"last4": card.last4})
    return redirect("portal:bank_cards")


def _own_card(customer: Customer, public_id: str) -> BankCard:
    """The customer's live card; another customer's id, or a removed card, is a 404."""
    try:
        card = bank_card_get(customer=customer, public_id=public_id)
    except KassaError as error:
        raise Http404 from error
    if card.removed_at is not None:
        raise Http404
    return card
