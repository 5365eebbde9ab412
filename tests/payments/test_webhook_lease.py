"""A Stripe event's claim is a lease: a processor that dies mid-apply (SIGKILL, OOM, a deploy)
leaves the event unprocessed, Stripe's redelivery or the sweep takes it over once the lease
ends, and a live claim makes a second processor skip it. Each event is applied once."""

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from payments import webhooks
from payments.models import PaymentEvent, StripeEvent, Tender
from payments.tasks import stripe_events_sweep
from tests.payments.conftest import Shop
from tests.payments.test_races import race
from tests.payments.test_webhooks import (
    authorised,
    card_tender,
    deliver,
    event,
    intent_object,
    sign,
)

LEASE = timedelta(seconds=settings.KASSA_WEBHOOK_CLAIM_SECONDS)
DISPUTE = "stripe.charge.dispute.created"


@pytest.fixture
def clock(monkeypatch) -> Callable[[timedelta], None]:
    """Moves `timezone.now()` forward (for every thread) by the given time."""
    real = timezone.now
    offset = [timedelta()]
    monkeypatch.setattr(timezone, "now", lambda: real() + offset[0])

    def advance(by: timedelta) -> None:
        offset[0] += by

    return advance


def _dispute(tender: Tender) -> dict[str, Any]:
    return event(
        "charge.dispute.created",
        {"id": "dp_lease", "object": "dispute", "payment_intent": tender.stripe_payment_intent_id},
    )


def _died_mid_apply(body: dict[str, Any], monkeypatch) -> StripeEvent:
    """Store the event, then kill its processor inside the apply's last transaction: SystemExit
    runs no `except Exception`, and the transaction is rolled back as on a lost connection."""

    def killed(**kwargs: Any) -> None:
        raise SystemExit(137)

    with monkeypatch.context() as patch:
        patch.setattr(webhooks, "payment_event_record", killed)
        payload = json.dumps(body).encode()
        stored = webhooks.stripe_event_receive(payload=payload, signature=sign(payload))
        assert stored is not None
        with pytest.raises(SystemExit):
            webhooks.stripe_event_process(event=stored)
    return StripeEvent.objects.get(pk=stored.pk)


def _applied(tender: Tender) -> int:
    tender.refresh_from_db()
    count = PaymentEvent.objects.filter(tender=tender, type=DISPUTE).count()
    assert tender.disputed == (count > 0)
    return count


@pytest.mark.django_db
def test_a_live_claim_makes_the_redelivery_skip_the_event(
    shop: Shop, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    tender = card_tender(authorised(shop, capture=True))
    body = _dispute(tender)
    stranded = _died_mid_apply(body, monkeypatch)
    assert stranded.processed_at is None, "not processed: the apply never finished"
    assert stranded.claimed_until is not None
    assert stranded.claimed_until > timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(body)
    assert response.json() == {"received": True, "duplicate": False}, "handed back"
    assert _applied(tender) == 0, "the first processor may still be applying it"
    again = StripeEvent.objects.get()
    assert (again.processed_at, again.claimed_until) == (None, stranded.claimed_until)


@pytest.mark.django_db
def test_after_a_crash_mid_apply_the_redelivery_applies_the_event_once_the_claim_ends(
    shop: Shop, monkeypatch, clock, django_capture_on_commit_callbacks
) -> None:
    tender = card_tender(authorised(shop, capture=True))
    body = _dispute(tender)
    _died_mid_apply(body, monkeypatch)
    clock(LEASE + timedelta(seconds=1))

    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(body)
    assert response.json() == {"received": True, "duplicate": False}
    assert _applied(tender) == 1
    applied = StripeEvent.objects.get()
    assert applied.processed_at is not None
    assert applied.claimed_until is None

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert deliver(body).json() == {"received": True, "duplicate": True}
    assert callbacks == []
    assert _applied(tender) == 1


@pytest.mark.django_db
def test_the_sweep_applies_events_nobody_applied_oldest_first_once_their_time_came(
    shop: Shop, monkeypatch, clock, django_capture_on_commit_callbacks
) -> None:
    """Stripe stops redelivering: a lost task (never claimed) is swept after a minute, a dead
    processor's event once its claim ended; a bounded batch, oldest first."""
    assert "payments.stripe_events_sweep" in {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    tender = card_tender(authorised(shop, capture=True))
    lost = [event("payment_intent.succeeded", intent_object(tender)) for _ in range(2)]
    for body in lost:
        with django_capture_on_commit_callbacks(execute=False):
            deliver(body)  # stored; the task is lost
        clock(timedelta(seconds=1))
    _died_mid_apply(_dispute(tender), monkeypatch)
    assert stripe_events_sweep() == {}, "a fresh event is left to its own task"

    clock(webhooks.UNCLAIMED_GRACE)
    monkeypatch.setattr(webhooks, "SWEEP_BATCH", 1)
    for count in (1, 2):
        assert stripe_events_sweep() == {"processed": 1}
        processed = StripeEvent.objects.filter(processed_at__isnull=False)
        assert set(processed.values_list("event_id", flat=True)) == {
            body["id"] for body in lost[:count]
        }
    assert stripe_events_sweep() == {}, "the dead processor's claim still runs"
    assert _applied(tender) == 0

    clock(LEASE)
    assert stripe_events_sweep() == {"processed": 1}
    assert _applied(tender) == 1
    assert not StripeEvent.objects.filter(processed_at__isnull=True).exists()
    assert stripe_events_sweep() == {}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("second", ["delivery", "sweep"])
def test_two_processors_taking_over_a_dead_claim_at_once_apply_it_once(
    shop: Shop, monkeypatch, clock, invariants, second: str
) -> None:
    """Real threads: Stripe's redelivery and a second redelivery (or the sweep) find the same
    event whose processor died; the conditional claim lets exactly one of them apply it."""
    tender = card_tender(authorised(shop, capture=True))
    body = _dispute(tender)
    _died_mid_apply(body, monkeypatch)
    clock(LEASE + timedelta(seconds=1))

    def take_over(index: int) -> object:
        if index == 1 and second == "sweep":
            return stripe_events_sweep()
        return deliver(body).status_code

    outcomes = race(2, take_over)
    assert _applied(tender) == 1, outcomes
    assert StripeEvent.objects.get().processed_at is not None
    invariants()
