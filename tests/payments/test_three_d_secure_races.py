"""Real threads: the shop's confirm, Stripe's webhook and the time-out concluding one payment
waiting for 3-D Secure at the same moment. One of them concludes it, once: one outcome event,
the holds settled once, the others find the payment concluded."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from payments.models import Payment, PaymentEvent
from payments.services.authentication import payment_authentication_settle
from payments.services.recovery import payment_recover
from payments.webhooks import WEBHOOK_ACTOR
from tests.payments.conftest import available
from tests.payments.test_races import race
from tests.payments.test_three_d_secure import _authenticate, _card, _confirm, _waiting

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _events(payment: Payment, kind: str) -> int:
    return PaymentEvent.objects.filter(payment=payment, type=kind).count()


def test_confirm_and_the_webhook_racing_capture_the_payment_once(shop, stripe, invariants) -> None:
    body = _waiting(shop, stripe, capture=True)
    _authenticate(_card(body), success=True)
    payment = Payment.objects.get()

    def conclude(index: int) -> str:
        if index == 0:
            return str(_confirm(shop, body).status_code)
        settled = payment_authentication_settle(payment=payment, actor=WEBHOOK_ACTOR)
        return settled.status

    outcomes = race(2, conclude)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURED, outcomes
    # the confirm answers the payment, or that it is no longer waiting (the webhook won)
    assert set(outcomes) <= {"200", "409", *Payment.Status.values}, outcomes
    assert _events(payment, "payment.authorized") == 1
    assert _events(payment, "payment.captured") == 1
    assert available(shop.gift_card) == Decimal("0")
    invariants()


def test_confirm_and_the_time_out_racing_conclude_it_once_and_never_void_it(
    shop, stripe, invariants
) -> None:
    """The cardholder finished just as the time-out came: the time-out asks Stripe first, so
    both conclude; neither voids an authorised payment."""
    body = _waiting(shop, stripe)
    _authenticate(_card(body), success=True)
    timeout = timedelta(minutes=settings.KASSA_3DS_TIMEOUT_MINUTES + 1)
    Payment.objects.update(updated_at=timezone.now() - timeout)
    payment = Payment.objects.get()

    def conclude(index: int) -> str:
        if index == 0:
            return str(_confirm(shop, body).status_code)
        return payment_recover(payment=Payment.objects.get(pk=payment.pk)).status

    outcomes = race(2, conclude)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.AUTHORIZED, outcomes
    assert _events(payment, "payment.authorized") == 1
    assert not PaymentEvent.objects.filter(payment=payment, type="payment.voiding").exists()
    assert available(shop.gift_card) == Decimal("0"), "still held for the capture"
    invariants()


def test_a_failed_authentication_concluded_by_confirm_and_webhook_fails_it_once(
    shop, stripe, invariants
) -> None:
    body = _waiting(shop, stripe)
    _authenticate(_card(body), success=False)
    payment = Payment.objects.get()

    def conclude(index: int) -> str:
        if index == 0:
            return str(_confirm(shop, body).status_code)
        return payment_authentication_settle(payment=payment, actor=WEBHOOK_ACTOR).status

    outcomes = race(2, conclude)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.FAILED, outcomes
    assert _events(payment, "payment.failed") == 1
    assert available(shop.gift_card) == Decimal("50.00"), "every hold released, once"
    invariants()
