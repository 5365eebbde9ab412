"""Saving a bank card with Stripe.js and a SetupIntent; the wallet service attaches it.

Locally localstripe serves a stand-in Stripe.js at `<STRIPE_API_BASE>/js.stripe.com/v3/`; in
production the page loads Stripe's own, the only external script the portal ever loads.
"""

from django.conf import settings
from stripe.params import SetupIntentCreateParams

from config.stripe import stripe_call, stripe_client
from customers.models import Customer
from wallet.errors import InvalidPaymentMethod
from wallet.models import BankCard
from wallet.services import bank_card_attach

STRIPE_JS = "https://js.stripe.com/v3/"


def stripe_js_url() -> str:
    base = settings.STRIPE_API_BASE.rstrip("/")
    return STRIPE_JS if base == "https://api.stripe.com" else f"{base}/js.stripe.com/v3/"


def setup_intent_create(*, customer: Customer) -> str:
    """A SetupIntent for the browser to confirm; returns its client secret."""
    params: SetupIntentCreateParams = {
        "usage": "off_session",
        "metadata": {"kassa_customer": str(customer.public_id)},
    }
    intent = stripe_call(stripe_client().v1.setup_intents.create, params=params)
    assert intent.client_secret is not None
    return intent.client_secret


def card_save(*, customer: Customer, setup_intent_id: str) -> BankCard:
    """Attach the SetupIntent's card, once Stripe says it succeeded for this very customer."""
    intent = stripe_call(stripe_client().v1.setup_intents.retrieve, setup_intent_id)
    method = intent.payment_method
    method_id = method if isinstance(method, str) else getattr(method, "id", None)
    if (
        intent.status != "succeeded"
        or not method_id
        or intent.metadata is None
        or intent.metadata.to_dict().get("kassa_customer") != str(customer.public_id)
    ):
        raise InvalidPaymentMethod(field="setup_intent")
    return bank_card_attach(customer=customer, payment_method_id=method_id)
