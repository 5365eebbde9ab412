"""Back office: payments are read-only; capture, void and refund go through the services behind a
confirmation page, refusals come back as messages with their code."""

import uuid
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from payments.models import Payment, PaymentEvent, Refund, StripeEvent, Tender
from payments.services.common import PaymentRequest, TenderRequest
from payments.services.create import payment_create
from payments.services.refund import refund_create
from tests.payments.conftest import Shop, available, eur

pytestmark = pytest.mark.django_db

PAYMENTS = reverse("admin:payments_payment_changelist")


def pay(
    shop: Shop, *, capture: bool = False, reference: str = "order-1", split: bool = True
) -> Payment:
    """100.00 EUR: voucher 10.00, gift card 50.00, 500 points = 5.00, saved card 35.00; or, as
    the wallet's gift card is then spent, all on the saved card."""
    card = TenderRequest(method="card", bank_card=str(shop.bank_card.public_id))
    stored_value = [
        TenderRequest(method="gift_card", gift_card=str(shop.gift_card.public_id)),
        TenderRequest(method="loyalty_points", points=500),
        TenderRequest(method="voucher", code=shop.voucher_code),
    ]
    return payment_create(
        api_key=shop.web_key,
        idempotency_key=str(uuid.uuid4()),
        client_ip=None,
        request=PaymentRequest(
            amount=eur("100.00"),
            channel=Payment.Channel.WEB,
            customer=shop.customer,
            external_reference=reference,
            capture=capture,
            tenders=[card, *stored_value] if split else [card],
        ),
    )


def staff_client(*codenames: str) -> Client:
    user = User.objects.create_user(f"staff-{uuid.uuid4().hex[:8]}", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="payments", codename__in=codenames)
    )
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def office() -> Client:
    """A back-office user who may look at and act on payments (not a superuser)."""
    return staff_client("view_payment", "change_payment", "view_stripeevent")


def act(client: Client, action: str, payments: list[Payment], **form: object):
    """The change list's action POST: answers with the confirmation page."""
    return client.post(
        PAYMENTS, {"action": action, ACTION_CHECKBOX_NAME: [p.pk for p in payments], **form}
    )


def confirm(client: Client, action: str, payments: list[Payment], **form: object):
    """The confirmation page's POST, following the redirect back to the change list."""
    return client.post(
        PAYMENTS,
        {"action": action, ACTION_CHECKBOX_NAME: [p.pk for p in payments], "post": "yes", **form},
        follow=True,
    )


def applied(response) -> bool:
    """The action ran and sent the user back to the list (a refused form renders again)."""
    return response.redirect_chain == [(PAYMENTS, 302)]


def said(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# -- pages ------------------------------------------------------------------------------------


def test_list_filters_and_search(office, shop) -> None:
    authorised = pay(shop, reference="web-1001")
    captured = pay(shop, capture=True, reference="web-1002", split=False)
    listing = office.get(PAYMENTS)
    assert listing.status_code == 200
    assert {p.pk for p in listing.context["cl"].result_list} == {authorised.pk, captured.pk}

    def found(**query: str) -> set[int]:
        response = office.get(PAYMENTS, query)
        assert response.status_code == 200
        return {p.pk for p in response.context["cl"].result_list}

    assert found(status__exact="captured") == {captured.pk}
    assert found(channel__exact="web") == {authorised.pk, captured.pk}
    assert found(store__id__exact=str(shop.store.pk)) == set(), "web payments have no store"
    assert found(q=str(captured.public_id).upper()) == {captured.pk}
    assert found(q="web-1001") == {authorised.pk}
    assert found(q=str(shop.customer.public_id)) == {authorised.pk, captured.pk}
    intent = captured.tenders.get(method=Tender.Method.CARD).stripe_payment_intent_id
    assert found(q=intent) == {captured.pk}
    assert found(q=str(uuid.uuid4())) == set()


def test_till_payments_filter_by_store_and_terminal(office, shop) -> None:
    sale = payment_create(
        api_key=shop.till_key,
        idempotency_key="till-sale-1",
        client_ip=None,
        request=PaymentRequest(
            amount=eur("20.00"),
            channel=Payment.Channel.POS,
            capture=True,
            tenders=[TenderRequest(method="cash")],
        ),
    )
    pay(shop, split=False)
    by_store = office.get(PAYMENTS, {"store__id__exact": shop.store.pk})
    assert [p.pk for p in by_store.context["cl"].result_list] == [sale.pk]
    by_till = office.get(PAYMENTS, {"terminal__id__exact": shop.till.pk, "channel__exact": "pos"})
    assert [p.pk for p in by_till.context["cl"].result_list] == [sale.pk]


def test_detail_shows_tenders_refunds_with_allocations_and_events_read_only(office, shop) -> None:
    payment = pay(shop, capture=True)
    refund_create(
        payment=payment, amount=eur("40.00"), reason="damaged parcel", actor="user:backoffice"
    )
    page = office.get(reverse("admin:payments_payment_change", args=[payment.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert str(payment.public_id) in html
    card = payment.tenders.get(method=Tender.Method.CARD)
    assert card.stripe_payment_intent_id in html
    assert "damaged parcel" in html
    assert "#4 Card: 35.00 EUR" in html, "the refund's allocation to the card tender"
    assert "#3 Loyalty Points: 5.00 EUR" in html
    for event in ("payment.held", "payment.captured", "refund.succeeded"):
        assert event in html
    for name in (
        "status",
        "amount_0",
        "external_reference",
        "tenders-0-amount_0",
        "refunds-0-reason",
    ):
        assert f'name="{name}"' not in html, f"{name} is read-only"
    assert 'name="_save"' not in html


def test_nothing_can_be_added_edited_or_deleted(office, shop) -> None:
    payment = pay(shop)
    assert office.get(reverse("admin:payments_payment_add")).status_code == 403
    delete = office.post(
        reverse("admin:payments_payment_delete", args=[payment.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    edit = office.post(
        reverse("admin:payments_payment_change", args=[payment.pk]),
        {"status": "captured", "external_reference": "changed"},
    )
    assert edit.status_code == 403
    payment.refresh_from_db()
    assert (payment.status, payment.external_reference) == ("authorized", "order-1")
    listing = office.get(PAYMENTS)
    assert set(listing.context["action_form"].fields["action"].choices) >= {
        ("capture", "Capture selected payments in full…"),
        ("void", "Void selected payments…"),
        ("refund", "Refund the selected payment…"),
    }
    assert "delete_selected" not in dict(listing.context["action_form"].fields["action"].choices)


def test_view_only_staff_sees_payments_but_cannot_act(shop) -> None:
    payment = pay(shop)
    reader = staff_client("view_payment")
    page = reader.get(reverse("admin:payments_payment_change", args=[payment.pk]))
    assert page.status_code == 200
    assert "payment.held" in page.content.decode(), "the inlines are part of the payment"
    assert reader.get(PAYMENTS).context["action_form"] is None
    confirm(reader, "capture", [payment])
    payment.refresh_from_db()
    assert payment.status == Payment.Status.AUTHORIZED


# -- capture ----------------------------------------------------------------------------------


def test_capture_asks_for_confirmation_then_captures_in_full(office, shop, invariants) -> None:
    payment = pay(shop)
    page = act(office, "capture", [payment])
    assert page.status_code == 200
    html = page.content.decode()
    assert "Capture payments" in html
    assert str(payment.public_id) in html
    assert "#4 Card Authorized: 35.00 EUR" in html
    payment.refresh_from_db()
    assert payment.status == Payment.Status.AUTHORIZED, "the confirmation page changes nothing"

    done = confirm(office, "capture", [payment])
    assert applied(done)
    assert said(done) == [f"{payment.public_id}: Captured 100.00 EUR; now captured."]
    payment.refresh_from_db()
    assert (payment.status, payment.captured_amount) == ("captured", eur("100.00"))
    assert payment.points_earned == 85
    log = LogEntry.objects.get(object_id=str(payment.pk))
    assert "Captured 100.00 EUR" in log.get_change_message()
    assert User.objects.get(pk=log.user_id).is_staff
    invariants()


def test_capture_refusal_is_reported_with_its_code_and_changes_nothing(
    office, shop, invariants
) -> None:
    voided = pay(shop)
    confirm(office, "void", [voided], reason="customer cancelled")
    authorised = pay(shop, split=False)
    done = confirm(office, "capture", [voided, authorised])
    assert said(done) == [
        f"{voided.public_id}: The payment is not in a state that allows this operation. "
        "(invalid_payment_state)",
        f"{authorised.public_id}: Captured 100.00 EUR; now captured.",
    ]
    voided.refresh_from_db()
    assert voided.status == Payment.Status.VOIDED
    invariants()


# -- void -------------------------------------------------------------------------------------


def test_void_needs_a_reason_then_releases_everything(office, shop, invariants) -> None:
    payment = pay(shop)
    page = act(office, "void", [payment])
    assert page.status_code == 200
    assert "Void payments" in page.content.decode()

    no_reason = confirm(office, "void", [payment], reason="  ")
    assert not applied(no_reason)
    assert "This field is required." in no_reason.content.decode()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.AUTHORIZED

    done = confirm(office, "void", [payment], reason="fraud suspected by store manager")
    assert applied(done)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.VOIDED
    assert available(shop.gift_card) == Decimal("50.00")
    assert available(shop.loyalty) == Decimal("2000")
    voiding = PaymentEvent.objects.get(payment=payment, type="payment.voiding")
    assert voiding.data == {"reason": "fraud suspected by store manager"}
    acted = dict(payment.events.values_list("type", "actor"))
    staff = User.objects.get(is_staff=True)
    assert acted == {
        "payment.held": f"api_key:{shop.web_key.prefix}",
        "payment.authorized": f"api_key:{shop.web_key.prefix}",
        "payment.voiding": f"user:{staff.username}",
        "payment.voided": f"user:{staff.username}",
    }
    invariants()


# -- refund -----------------------------------------------------------------------------------


def test_refund_confirmation_page_then_reverse_refund_with_reason(office, shop, invariants) -> None:
    payment = pay(shop, capture=True)
    page = act(office, "refund", [payment])
    assert page.status_code == 200
    html = page.content.decode()
    assert "Refund payment" in html
    assert "refundable 100.00 EUR" in html
    assert 'name="tender_4"' in html, "one per-tender amount field for the explicit policy"
    assert not Refund.objects.exists()

    done = confirm(
        office, "refund", [payment], amount="40.00", policy="reverse", reason="returned in store"
    )
    assert applied(done), done.content.decode()
    assert said(done) == [
        f"{payment.public_id}: Refunded 40.00 EUR (reverse: #3 loyalty_points 5.00 EUR, "
        "#4 card 35.00 EUR); reason: returned in store."
    ]
    refund = Refund.objects.get()
    assert (refund.status, refund.reason) == ("succeeded", "returned in store")
    assert refund.api_key is None, "made in the back office, not by an API key"
    staff = User.objects.get(is_staff=True)
    assert set(payment.events.filter(type__startswith="refund.").values_list("type", "actor")) == {
        ("refund.created", f"user:{staff.username}"),
        ("refund.succeeded", f"user:{staff.username}"),
    }
    payment.refresh_from_db()
    assert payment.refunded_amount == eur("40.00")
    again = act(office, "refund", [payment]).content.decode()
    assert "refundable 60.00 EUR" in again
    assert 'name="tender_2"' in again
    assert 'name="tender_4"' not in again, "nothing left to refund on the card"
    invariants()


def test_refund_without_a_reason_is_refused_and_changes_nothing(office, shop, invariants) -> None:
    payment = pay(shop, capture=True)
    response = confirm(office, "refund", [payment], amount="10.00", policy="reverse", reason="")
    assert not applied(response), "the confirmation page again, with the error"
    assert "This field is required." in response.content.decode()
    assert not Refund.objects.exists()
    payment.refresh_from_db()
    assert payment.refunded_amount == eur("0.00")
    invariants()


def test_refund_pro_rata_and_explicit(office, shop, invariants) -> None:
    payment = pay(shop, capture=True)
    confirm(office, "refund", [payment], amount="10.00", policy="pro_rata", reason="late delivery")
    shares = {a.tender.method: a.amount for a in Refund.objects.get().allocations.all()}
    assert shares == {
        "voucher": eur("1.00"),
        "gift_card": eur("5.00"),
        "loyalty_points": eur("0.50"),
        "card": eur("3.50"),
    }

    missing = confirm(office, "refund", [payment], amount="20.00", policy="explicit", reason="x")
    assert "An explicit refund needs an amount for each tender." in missing.content.decode()

    done = confirm(
        office,
        "refund",
        [payment],
        amount="20.00",
        policy="explicit",
        tender_2="20.00",
        reason="gift card part back",
    )
    assert applied(done)
    explicit = Refund.objects.order_by("created_at").last()
    assert explicit is not None
    assert [(a.tender.method, a.amount) for a in explicit.allocations.all()] == [
        ("gift_card", eur("20.00"))
    ]
    assert available(shop.gift_card) == Decimal("25.00")
    invariants()


def test_refund_above_refundable_is_reported_with_its_code(office, shop, invariants) -> None:
    payment = pay(shop, capture=True)
    done = confirm(office, "refund", [payment], amount="100.01", policy="reverse", reason="oops")
    assert said(done) == [
        f"{payment.public_id}: The refund is larger than what can still be refunded. "
        "(refund_exceeds_refundable)"
    ]
    assert not Refund.objects.exists()
    invariants()


def test_refund_takes_exactly_one_payment(office, shop) -> None:
    first = pay(shop, capture=True)
    second = pay(shop, capture=True, reference="order-2", split=False)
    done = confirm(office, "refund", [first, second], amount="1.00", policy="reverse", reason="x")
    assert said(done) == ["Select exactly one payment to refund."]
    assert not Refund.objects.exists()


# -- Stripe events ----------------------------------------------------------------------------


def test_stripe_events_are_listed_read_only_and_link_their_payment(office, shop) -> None:
    payment = pay(shop)
    intent = payment.tenders.get(method=Tender.Method.CARD).stripe_payment_intent_id
    event = StripeEvent.objects.create(
        event_id="evt_admin_1",
        type="charge.dispute.created",
        payload={"data": {"object": {"object": "dispute", "payment_intent": intent}}},
    )
    listing = office.get(reverse("admin:payments_stripeevent_changelist"))
    assert listing.status_code == 200
    assert "evt_admin_1" in listing.content.decode()
    page = office.get(reverse("admin:payments_stripeevent_change", args=[event.pk]))
    assert page.status_code == 200
    assert reverse("admin:payments_payment_change", args=[payment.pk]) in page.content.decode()
    assert "Claimed until" in page.content.decode(), "the lease of a processor applying it"
    assert 'name="_save"' not in page.content.decode()
    assert office.get(reverse("admin:payments_stripeevent_add")).status_code == 403
