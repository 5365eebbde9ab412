"""Stripe failing, and the process dying half-way: nothing is lost, recovery settles it."""

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from config.embedded import BASE_DIR, free_port
from payments.models import Payment, Tender
from payments.services import authorize, common, create
from payments.tasks import payments_recover_stuck
from tests.payments.blackhole import black_hole
from tests.payments.conftest import available, eur, money
from tests.payments.test_flows import post


def _split(shop, *, capture: bool = False) -> dict:
    return {
        "amount": money("80.00"),
        "customer": str(shop.customer.public_id),
        "tenders": [
            {"method": "gift_card", "gift_card": str(shop.gift_card.public_id)},
            {"method": "loyalty_points", "points": 1000},
            {"method": "card", "bank_card": str(shop.bank_card.public_id)},
        ],
        "capture": capture,
    }


def _authorised(shop) -> Payment:
    response = post(shop.web, "/api/v1/payments", _split(shop))
    assert response.status_code == 201, response.json()
    return Payment.objects.get(public_id=response.json()["id"])


def _age(payment_id: int) -> None:
    """Make a payment look abandoned long enough for the recovery task to take it."""
    Payment.objects.filter(pk=payment_id).update(
        updated_at=timezone.now() - common.STUCK_AFTER - timedelta(seconds=1)
    )


@pytest.mark.django_db
def test_stripe_unreachable_fails_the_payment_and_releases_holds(
    shop, settings, localstripe, invariants
) -> None:
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    response = post(shop.web, "/api/v1/payments", _split(shop))
    assert response.status_code == 503, response.json()
    assert response.json()["code"] == "card_processor_unavailable"
    assert Payment.objects.get().status == Payment.Status.FAILED
    assert available(shop.gift_card) == Decimal("50.00")
    assert available(shop.loyalty) == Decimal("2000")
    settings.STRIPE_API_BASE = localstripe.api_base
    invariants()


@pytest.mark.django_db
def test_stripe_timing_out_fails_the_payment_and_releases_holds(
    shop, settings, localstripe, invariants
) -> None:
    with black_hole() as base:
        settings.STRIPE_API_BASE = base
        settings.STRIPE_TIMEOUT_SECONDS = 1
        response = post(shop.web, "/api/v1/payments", _split(shop))
    assert response.status_code == 503, response.json()
    assert Payment.objects.get().status == Payment.Status.FAILED
    assert available(shop.gift_card) == Decimal("50.00")
    settings.STRIPE_API_BASE = localstripe.api_base
    invariants()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_process_killed_after_the_hold_phase_is_rolled_back(shop, database_url, invariants) -> None:
    """A real crash: the worker process dies (SIGKILL) while Stripe keeps it waiting."""
    script = textwrap.dedent(
        f"""
        import django
        django.setup()
        from payments.services.common import PaymentRequest, TenderRequest
        from payments.services.create import payment_create
        from merchants.models import ApiKey
        from customers.models import Customer
        from moneyed import Money
        payment_create(
            api_key=ApiKey.objects.get(pk={shop.web_key.pk}),
            idempotency_key="crash-1",
            client_ip=None,
            request=PaymentRequest(
                amount=Money("80.00", "EUR"),
                channel="web",
                customer=Customer.objects.get(pk={shop.customer.pk}),
                tenders=[
                    TenderRequest(method="gift_card", gift_card="{shop.gift_card.public_id}"),
                    TenderRequest(method="card", bank_card="{shop.bank_card.public_id}"),
                ],
            ),
        )
        """
    )
    with black_hole() as base:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "STRIPE_API_BASE": base,
            "STRIPE_TIMEOUT_SECONDS": "60",
        }
        child = subprocess.Popen([sys.executable, "-c", script], cwd=BASE_DIR, env=env)
        try:
            deadline = time.monotonic() + 60
            while not Payment.objects.filter(idempotency_key="crash-1").exists():
                assert child.poll() is None, "the flow ended before the test could kill it"
                assert time.monotonic() < deadline
                time.sleep(0.05)
            time.sleep(0.3)  # the child is now inside the Stripe call, holds committed
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
    payment = Payment.objects.get(idempotency_key="crash-1")
    assert payment.status == Payment.Status.AUTHORIZING
    assert available(shop.gift_card) == Decimal("0"), "the hold survived the crash"

    assert payments_recover_stuck() == {}, "a fresh payment is left alone: it may still be running"
    _age(payment.pk)
    assert payments_recover_stuck() == {"failed": 1}
    payment.refresh_from_db()
    assert payment.status == Payment.Status.FAILED
    assert available(shop.gift_card) == Decimal("50.00")
    invariants()


@pytest.mark.django_db
def test_crash_after_stripe_authorised_is_completed_by_recovery(shop, invariants) -> None:
    """The flow stops between the authorise and outcome phases (phases commit separately)."""
    request = common.PaymentRequest(
        amount=eur("80.00"),
        channel="web",
        customer=shop.customer,
        capture=True,
        tenders=[
            common.TenderRequest(method="gift_card", gift_card=str(shop.gift_card.public_id)),
            common.TenderRequest(method="card", bank_card=str(shop.bank_card.public_id)),
        ],
    )
    from payments import methods
    from payments.planning import plan_tenders

    resolved = methods.resolve_tenders(api_key=shop.web_key, request=request, client_ip=None)
    plan = plan_tenders(amount=request.amount, channel="web", sources=[r.source for r in resolved])
    payment = create._hold(
        api_key=shop.web_key,
        idempotency_key="crash-2",
        request=request,
        plan=plan,
        resolved=resolved,
    )
    authorize.authorize_cards(payment)
    # -- the process dies here --
    _age(payment.pk)
    assert payments_recover_stuck() == {"captured": 1}
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURED
    assert payment.captured_amount == eur("80.00")
    invariants()


@pytest.mark.django_db
def test_stripe_down_during_capture_leaves_capturing_for_recovery(
    shop, settings, invariants
) -> None:
    payment = _authorised(shop)
    real_stripe = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"
    response = post(shop.web, f"/api/v1/payments/{payment.public_id}/capture", {})
    assert response.status_code == 503
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURING
    assert available(shop.gift_card) == Decimal("0"), "nothing settled before Stripe captured"

    settings.STRIPE_API_BASE = real_stripe
    _age(payment.pk)
    assert payments_recover_stuck() == {"captured": 1}
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CAPTURED
    assert {t.status for t in payment.tenders.all()} == {Tender.Status.CAPTURED}
    invariants()


@pytest.mark.django_db
def test_expired_authorisation_is_voided_whole(shop, invariants) -> None:
    payment = _authorised(shop)
    Payment.objects.filter(pk=payment.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert payments_recover_stuck() == {"voided": 1}
    assert available(shop.gift_card) == Decimal("50.00")
    invariants()


@pytest.mark.django_db
def test_retry_after_a_crash_returns_the_same_payment(shop) -> None:
    key = str(uuid.uuid4())
    first = post(shop.web, "/api/v1/payments", _split(shop), key=key)
    from merchants.models import IdempotencyRecord

    IdempotencyRecord.objects.all().delete()  # as if the process died before recording it
    again = post(shop.web, "/api/v1/payments", _split(shop), key=key)
    assert again.json()["id"] == first.json()["id"]
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_a_capture_refused_part_way_gives_back_what_was_captured(shop, stripe, invariants) -> None:
    """Two card tenders; the second's authorisation disappears at Stripe before the capture.
    The first card was already captured when Stripe refuses the second: it is refunded, and the
    whole payment is voided rather than left half-captured."""
    from tests.payments.conftest import saved_card

    second_card = saved_card(stripe, shop.customer, number="5555555555554444")
    response = post(
        shop.web,
        "/api/v1/payments",
        {
            "amount": money("50.00"),
            "customer": str(shop.customer.public_id),
            "tenders": [
                {
                    "method": "card",
                    "bank_card": str(shop.bank_card.public_id),
                    "amount": money("30.00"),
                },
                {"method": "card", "bank_card": str(second_card.public_id)},
            ],
        },
    )
    assert response.status_code == 201, response.json()
    payment = Payment.objects.get(public_id=response.json()["id"])
    first, second = payment.tenders.order_by("sequence")
    stripe.v1.payment_intents.cancel(second.stripe_payment_intent_id)

    post(shop.web, f"/api/v1/payments/{payment.public_id}/capture", {})
    payment.refresh_from_db()
    assert payment.status == Payment.Status.VOIDED
    assert payment.failure_code == "capture_failed"
    intent = stripe.v1.payment_intents.retrieve(first.stripe_payment_intent_id)
    charge = intent.to_dict()["latest_charge"]
    assert (intent.status, charge["amount_refunded"]) == ("succeeded", 3000)
    event = payment.events.get(type="payment.voided")
    assert event.data["refunded_at_stripe"] == [str(first.public_id)]
    invariants()


def _gift_card_and_voucher(shop) -> Payment:
    response = post(
        shop.web,
        "/api/v1/payments",
        {
            "amount": money("20.00"),
            "customer": str(shop.customer.public_id),
            "tenders": [
                {"method": "voucher", "code": shop.voucher_code},
                {"method": "gift_card", "gift_card": str(shop.gift_card.public_id)},
            ],
        },
    )
    assert response.status_code == 201, response.json()
    return Payment.objects.get(public_id=response.json()["id"])


@pytest.mark.django_db
def test_capture_after_the_wallet_swept_the_expired_holds_takes_nothing(shop, invariants) -> None:
    from wallet.services import holds_void_expired

    payment = _gift_card_and_voucher(shop)
    assert holds_void_expired(at=timezone.now() + timedelta(days=8), actor="system:test") == 2
    response = post(shop.web, f"/api/v1/payments/{payment.public_id}/capture", {})
    assert response.status_code == 409
    assert response.json()["code"] == "authorization_expired"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.VOIDED
    assert payment.captured_amount == eur("0.00")
    assert available(shop.gift_card) == Decimal("50.00")
    invariants()


@pytest.mark.django_db
def test_capture_is_refused_when_a_hold_was_voided_before_expiry(shop, invariants) -> None:
    from wallet.transfers import transfer_void

    payment = _authorised(shop)
    gift = payment.tenders.get(method="gift_card")
    assert gift.wallet_transfer is not None
    transfer_void(transfer=gift.wallet_transfer, reason="voided by hand", actor="user:ops")
    response = post(shop.web, f"/api/v1/payments/{payment.public_id}/capture", {})
    assert (response.status_code, response.json()["code"]) == (409, "authorization_expired")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.VOIDED
    invariants()


@pytest.mark.django_db
def test_a_hold_timing_out_while_stripe_captured_releases_all_and_refunds_the_card(
    shop, settings, stripe, invariants
) -> None:
    from wallet.services import holds_void_expired

    payment = _authorised(shop)
    real_stripe = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"
    assert post(shop.web, f"/api/v1/payments/{payment.public_id}/capture", {}).status_code == 503
    settings.STRIPE_API_BASE = real_stripe
    holds_void_expired(at=timezone.now() + timedelta(days=8), actor="system:test")

    _age(payment.pk)
    assert payments_recover_stuck() == {"voided": 1}
    payment.refresh_from_db()
    assert (payment.status, payment.failure_code) == (Payment.Status.VOIDED, "capture_failed")
    card = payment.tenders.get(method="card")
    charge = stripe.v1.payment_intents.retrieve(card.stripe_payment_intent_id).to_dict()
    assert charge["latest_charge"]["amount_refunded"] == charge["latest_charge"]["amount"]
    assert available(shop.gift_card) == Decimal("50.00")
    invariants()
