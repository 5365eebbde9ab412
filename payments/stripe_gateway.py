"""The payments side of the Stripe boundary: PaymentIntents with manual capture, and refunds.

Only this module turns Money into integer minor units, and Stripe's errors into Kassa's codes.
Every call carries an idempotency key derived from the tender (or refund allocation) it serves,
so a retry after a time-out can never authorise, capture or refund twice at real Stripe.

Card tenders are authorised in two calls: `intent_create` (unconfirmed, no money moves) whose id
the engine stores before `intent_confirm` authorises. A crash at any point therefore leaves a
PaymentIntent id the recovery task can look up, with no search by metadata needed.

A card under Strong Customer Authentication answers the confirmation with `requires_action`: the
cardholder authenticates in the web shop (Stripe.js, with the intent's client secret), after which
the intent is `requires_capture`, or back to `requires_payment_method` if authentication failed.
"""

from dataclasses import dataclass

import stripe
from moneyed import Money
from stripe.params import PaymentIntentCreateParams

from config.errors import CardDeclined, StripeRefused
from config.money import from_minor_units, to_minor_units
from config.stripe import stripe_call, stripe_client
from payments.errors import CardAuthenticationRequired

KASSA_REFUND_METADATA = "kassa_refund"
KASSA_MERCHANT_METADATA = "kassa_merchant"


@dataclass(frozen=True)
class IntentState:
    id: str
    status: str
    amount: Money
    decline_code: str | None = None
    client_secret: str = ""
    charge_id: str = ""

    @property
    def authorized(self) -> bool:
        return self.status == "requires_capture"

    @property
    def captured(self) -> bool:
        return self.status == "succeeded"

    @property
    def canceled(self) -> bool:
        return self.status == "canceled"

    @property
    def requires_action(self) -> bool:
        """The cardholder has yet to authenticate (3-D Secure) in the shop."""
        return self.status == "requires_action"

    @property
    def authentication_failed(self) -> bool:
        return self.decline_code == "payment_intent_authentication_failure"


def _state(intent: stripe.PaymentIntent) -> IntentState:
    error = intent.to_dict().get("last_payment_error") or {}
    charge = intent.latest_charge
    return IntentState(
        id=intent.id,
        status=intent.status,
        amount=from_minor_units(intent.amount, intent.currency.upper()),
        decline_code=error.get("decline_code") or error.get("code"),
        client_secret=intent.client_secret or "",
        charge_id=(charge if isinstance(charge, str) else charge.id) if charge else "",
    )


def intent_create(
    *,
    amount: Money,
    payment_method_id: str,
    stripe_customer_id: str | None,
    tender_ref: str,
    payment_ref: str,
    merchant_ref: str,
) -> IntentState:
    """`kassa_merchant` tells reconciliation whose a charge is on a Stripe account shared by
    several merchants, even when Kassa never recorded its ids."""
    params: PaymentIntentCreateParams = {
        "amount": to_minor_units(amount),
        "currency": amount.currency.code.lower(),
        "payment_method": payment_method_id,
        "capture_method": "manual",
        "metadata": {
            "kassa_payment": payment_ref,
            "kassa_tender": tender_ref,
            KASSA_MERCHANT_METADATA: merchant_ref,
        },
    }
    if stripe_customer_id:
        params["customer"] = stripe_customer_id
    intent = stripe_call(
        stripe_client().v1.payment_intents.create,
        params=params,
        options={"idempotency_key": f"kassa-{tender_ref}-create"},
    )
    return _state(intent)


def intent_confirm(*, intent_id: str, tender_ref: str, can_authenticate: bool) -> IntentState:
    """Authorise: the held amount is then capturable for about seven days.

    An intent that needs 3-D Secure is returned as it is (`requires_action`) when the cardholder
    can authenticate (`can_authenticate`), else refused with `authentication_required`."""
    intent = stripe_call(
        stripe_client().v1.payment_intents.confirm,
        intent_id,
        options={"idempotency_key": f"kassa-{tender_ref}-confirm"},
    )
    state = _state(intent)
    if state.requires_action:
        if can_authenticate:
            return state
        raise CardAuthenticationRequired(meta={"payment_intent": intent.id})
    if not state.authorized:
        raise CardDeclined(meta={"decline_code": state.decline_code or intent.status})
    return state


def intent_retrieve(intent_id: str) -> IntentState:
    return _state(stripe_call(stripe_client().v1.payment_intents.retrieve, intent_id))


def intent_capture(*, intent_id: str, amount: Money, tender_ref: str) -> IntentState:
    """Capture `amount` (at most the authorised one); Stripe releases the rest at once.

    One call in the usual case. A refusal is checked against the intent as Stripe has it: one
    captured already (a re-run after a crash, past the idempotency key's 24 hours) is success.
    """
    try:
        intent = stripe_call(
            stripe_client().v1.payment_intents.capture,
            intent_id,
            params={"amount_to_capture": to_minor_units(amount)},
            options={"idempotency_key": f"kassa-{tender_ref}-capture"},
        )
    except StripeRefused:
        current = intent_retrieve(intent_id)
        if current.captured:
            return current
        raise
    state = _state(intent)
    if not state.captured:
        raise StripeRefused(f"The authorisation is {state.status}; nothing was captured.")
    return state


def intent_cancel(
    *, intent_id: str, tender_ref: str, current: IntentState | None = None
) -> IntentState:
    """Release an authorisation; a no-op for an intent that never authorised or is gone already.

    `current` is the intent's state when the caller has just read it."""
    current = current or intent_retrieve(intent_id)
    if current.canceled or current.captured:
        return current
    intent = stripe_call(
        stripe_client().v1.payment_intents.cancel,
        intent_id,
        options={"idempotency_key": f"kassa-{tender_ref}-cancel"},
    )
    return _state(intent)


def refund_create(*, intent_id: str, amount: Money, allocation_ref: str) -> str:
    """Refund at Stripe; the metadata tells Kassa's own refunds from the dashboard's."""
    refund = stripe_call(
        stripe_client().v1.refunds.create,
        params={
            "payment_intent": intent_id,
            "amount": to_minor_units(amount),
            "metadata": {KASSA_REFUND_METADATA: allocation_ref},
        },
        options={"idempotency_key": f"kassa-{allocation_ref}-refund"},
    )
    return str(refund.id)


@dataclass(frozen=True)
class ChargeRefund:
    """A refund Stripe holds for a charge; `kassa` when Kassa itself asked for it."""

    id: str
    amount: Money
    status: str
    kassa: bool


MAX_REFUNDS_PER_CHARGE = 100


def charge_refunds(charge_id: str) -> list[ChargeRefund]:
    """Every refund of a charge, through the SDK's auto-pagination (bounded)."""
    listing = stripe_call(
        stripe_client().v1.refunds.list,
        params={"charge": charge_id, "limit": MAX_REFUNDS_PER_CHARGE},
    )
    refunds: list[ChargeRefund] = []
    objects = iter(listing.auto_paging_iter())
    while (
        len(refunds) < MAX_REFUNDS_PER_CHARGE
        and (refund := stripe_call(next, objects, None)) is not None
    ):
        refunds.append(
            ChargeRefund(
                id=refund.id,
                amount=from_minor_units(refund.amount, refund.currency.upper()),
                status=refund.status or "",
                kassa=KASSA_REFUND_METADATA in (refund.metadata or {}),
            )
        )
    return refunds
