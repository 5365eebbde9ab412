"""The contract: every foreign key to Customer is covered by a handler; each app's handler
exports, erases and merges everything it holds; bad input answers the documented codes."""

import json
from unittest import mock

import pytest
from django.apps import apps
from django.db import models

from config.errors import StripeUnavailable
from customers.models import Customer, CustomerErasure, CustomerMerge, IdentityConflict
from customers.privacy.contract import privacy_handler_for, privacy_handlers
from customers.privacy.export import customer_export_json
from customers.services import (
    consent_allows,
    consent_record,
    customer_erase,
    customer_erasures_finish_pending,
    customer_merge,
    customer_unmerge,
    derived_data_deleter_register,
)
from payments.models import Payment
from tests.customers.factories import ConsentEventFactory, IdentifierFactory
from tests.factories import CustomerFactory, MerchantFactory
from tests.privacy.conftest import post
from wallet.models import BankCard, GiftCard, LoyaltyAccount

pytestmark = pytest.mark.django_db
ACTOR = "system:test"


def test_every_foreign_key_to_customer_is_covered_by_a_handler() -> None:
    covered = {ref for handler in privacy_handlers() for ref in handler.references}
    found = set()
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if (
                isinstance(field, models.ForeignKey | models.OneToOneField | models.ManyToManyField)
                and field.related_model is Customer
                and field.model is model
            ):
                found.add((model._meta.label_lower, field.name))
    assert found, "the walk finds the references"
    assert found - covered == set(), "a model refers to Customer without a privacy handler"
    assert [h.app_label for h in privacy_handlers()] == [
        "customers",
        "wallet",
        "payments",
        "portal",
        "insights",
    ]


def test_customers_handler_exports_merges_and_erases_its_rows(merchant) -> None:
    survivor, absorbed = CustomerFactory.create_batch(2, merchant=merchant)
    IdentifierFactory.create(customer=absorbed, value="zelda.q@example.com")
    ConsentEventFactory.create(customer=absorbed, evidence="Zelda Quist said yes")
    other = CustomerFactory.create(merchant=merchant)
    IdentifierFactory.create(customer=other, value="other@example.com")
    conflict = IdentityConflict.objects.create(
        merchant=merchant,
        customer_key=f"{absorbed.pk},{other.pk}",
        best_match=other,
        presented=[
            {"kind": "email", "value": "zelda.q@example.com", "verified": False},
            {"kind": "email", "value": "other@example.com", "verified": False},
        ],
        channel="pos",
    )
    conflict.customers.set([absorbed, other])
    handler = privacy_handler_for("customers")
    exported = json.loads(json.dumps(handler.export(customer=absorbed), default=list))
    assert exported["identifiers"][0]["value"] == "zelda.q@example.com"
    assert exported["identity_conflicts"][0]["presented"][0]["value"] == "zelda.q@example.com"

    record = customer_merge(
        survivor=survivor, absorbed=absorbed, reason="r", source="staff_api", actor=ACTOR
    )
    assert {m["model"] for m in record.moved} >= {"customers.identifier", "customers.consentevent"}
    assert not absorbed.identifiers.exists()
    assert not absorbed.consent_events.exists()
    customer_unmerge(merge=record, reason="undo", actor=ACTOR)
    assert absorbed.identifiers.count() == 1

    customer_erase(customer=absorbed, reason="asked", stored_value=None, actor=ACTOR)
    absorbed.refresh_from_db()
    assert absorbed.erased_at is not None
    assert not absorbed.identifiers.exists()
    assert absorbed.consent_events.get().evidence == "[erased]"
    conflict.refresh_from_db()
    assert [item["value"] for item in conflict.presented] == ["[erased]", "other@example.com"]
    assert conflict.status == IdentityConflict.Status.DISMISSED


def test_wallet_handler_exports_merges_and_erases_its_rows(shop) -> None:
    customer, merchant = shop.customer, shop.merchant
    handler = privacy_handler_for("wallet")
    exported = customer_export_json(customer=customer)["apps"]["wallet"]
    card = exported["gift_cards"][0]
    assert card["code"] == f"…{shop.gift_card_code[-4:]}"
    assert shop.gift_card_code not in json.dumps(exported)
    assert [m["code"] for m in card["ledger"]] == ["issue"]
    assert exported["loyalty_accounts"][0]["available"] == "2000.0000"
    assert exported["saved_cards"][0]["last4"] == "4242"

    other = CustomerFactory.create(merchant=merchant)
    record = customer_merge(
        survivor=other, absorbed=customer, reason="r", source="staff_api", actor=ACTOR
    )
    moved = {m["model"] for m in record.moved}
    assert {"wallet.giftcard", "wallet.loyaltyaccount", "wallet.bankcard"} <= moved
    assert not GiftCard.objects.filter(customer=customer).exists()
    customer_unmerge(merge=record, reason="undo", actor=ACTOR)
    assert GiftCard.objects.filter(customer=customer).count() == 1

    assert {item["instrument"] for item in handler.stored_value(customer=customer)} == {
        "gift_card",
        "loyalty_points",
    }
    erasure = customer_erase(customer=customer, reason="asked", stored_value="keep", actor=ACTOR)
    assert erasure.status == CustomerErasure.Status.COMPLETED
    # keep: the balances stay on the pseudonymous instruments; the saved card is gone.
    assert GiftCard.objects.get(pk=shop.gift_card.pk).account.available == 50
    assert LoyaltyAccount.objects.get(pk=shop.loyalty.pk).account.available == 2000
    assert BankCard.objects.get(pk=shop.bank_card.pk).removed_at is not None


def test_payments_handler_exports_merges_and_erases_its_rows(shop) -> None:
    customer = shop.customer
    created = post(
        shop.web,
        "/api/v1/payments",
        {
            "amount": {"amount": "12.00", "currency": "EUR"},
            "customer": str(customer.public_id),
            "external_reference": "for zelda.q@example.com",
            "tenders": [{"method": "gift_card", "gift_card": str(shop.gift_card.public_id)}],
            "capture": True,
        },
    )
    assert created.status_code == 201, created.json()
    IdentifierFactory.create(customer=customer, value="zelda.q@example.com")
    exported = customer_export_json(customer=customer)["apps"]["payments"]["payments"]
    assert exported[0]["tenders"][0]["method"] == "gift_card"
    assert exported[0]["external_reference"] == "for zelda.q@example.com"

    other = CustomerFactory.create(merchant=shop.merchant)
    record = customer_merge(
        survivor=other, absorbed=customer, reason="r", source="staff_api", actor=ACTOR
    )
    assert "payments.payment" in {m["model"] for m in record.moved}
    customer_unmerge(merge=record, reason="undo", actor=ACTOR)
    payment = Payment.objects.get(public_id=created.json()["id"])
    assert payment.customer_id == customer.pk

    customer_erase(customer=customer, reason="asked", stored_value="forfeit", actor=ACTOR)
    payment.refresh_from_db()
    assert payment.customer_id == customer.pk
    assert payment.external_reference == "for [erased]"


def test_erasure_api_refusals_and_idempotence(shop, staff, merchant_api) -> None:
    customer = shop.customer
    unknown = post(
        staff, "/api/v1/customers/00000000-0000-4000-8000-000000000000/erasure", {"reason": "x"}
    )
    assert unknown.status_code == 404
    stranger = CustomerFactory.create(merchant=MerchantFactory.create())
    assert (
        post(staff, f"/api/v1/customers/{stranger.public_id}/erasure", {"reason": "x"}).status_code
        == 404
    )
    url = f"/api/v1/customers/{customer.public_id}/erasure"
    assert post(shop.web, url, {"reason": "x"}).status_code in (403, 404)  # staff keys only
    no_key = staff.post(url, {"reason": "x"}, format="json")
    assert no_key.status_code == 400
    has_value = post(staff, url, {"reason": "x"})
    assert (has_value.status_code, has_value.json()["code"]) == (409, "wallet_has_value")
    first = post(staff, url, {"reason": "x", "stored_value": "keep"}, key="erase-1")
    again = post(staff, url, {"reason": "x", "stored_value": "keep"}, key="erase-1")
    other_key = post(staff, url, {"reason": "y"}, key="erase-2")
    assert first.status_code == again.status_code == other_key.status_code == 200
    assert first.json() == again.json()
    assert first.json()["id"] == other_key.json()["id"]
    export = shop.web.get(f"/api/v1/customers/{customer.public_id}/export")
    assert (export.status_code, export.json()["code"]) == (410, "customer_erased")
    survivor = CustomerFactory.create(merchant=shop.merchant)
    merged = post(
        staff,
        "/api/v1/customers/merges",
        {"survivor": str(survivor.public_id), "absorbed": str(customer.public_id), "reason": "r"},
    )
    assert merged.status_code == 410
    paid = post(
        shop.web,
        "/api/v1/payments",
        {
            "amount": {"amount": "1.00", "currency": "EUR"},
            "customer": str(customer.public_id),
            "tenders": [{"method": "cash"}],
        },
    )
    assert paid.status_code == 410, paid.json()


def test_export_is_one_streamed_document(shop, merchant_api) -> None:
    response = shop.web.get(f"/api/v1/customers/{shop.customer.public_id}/export")
    assert response.status_code == 200
    assert response.streaming
    body = json.loads(b"".join(response.streaming_content))
    assert body["schema_version"] == 1
    assert set(body["apps"]) == {"customers", "wallet", "payments", "portal", "insights"}


def test_stripe_down_leaves_the_erasure_pending_and_the_task_finishes_it(shop) -> None:
    with mock.patch("wallet.privacy.bank_card_remove", side_effect=StripeUnavailable()):
        erasure = customer_erase(
            customer=shop.customer, reason="asked", stored_value="forfeit", actor=ACTOR
        )
    assert (erasure.status, erasure.last_error) == ("pending", "card_processor_unavailable")
    shop.customer.refresh_from_db()
    assert shop.customer.erased_at is not None  # the database part is done
    assert customer_erasures_finish_pending() == 1
    erasure.refresh_from_db()
    assert erasure.status == "completed"
    assert BankCard.objects.get(pk=shop.bank_card.pk).removed_at is not None


def test_consent_gates_and_withdrawal_deletes_derived_data(merchant, merchant_api) -> None:
    customer = CustomerFactory.create(merchant=merchant)
    deleted: list[int] = []

    def delete_profile(customer: Customer) -> int:
        deleted.append(customer.pk)
        return 1

    derived_data_deleter_register(purpose="personalisation", name="test", deleter=delete_profile)
    assert not consent_allows(customer=customer, purpose="personalisation")
    consent_record(
        customer=customer, purpose="personalisation", granted=True, channel="web", evidence="v1"
    )
    assert consent_allows(customer=customer, purpose="personalisation")
    consent_record(
        customer=customer, purpose="personalisation", granted=False, channel="web", evidence="v1"
    )
    assert not consent_allows(customer=customer, purpose="personalisation")
    assert deleted == [customer.pk]
    history = merchant_api.get(f"/api/v1/customers/{customer.public_id}/consent-events?page_size=1")
    assert history.status_code == 200, history.json()
    assert [e["granted"] for e in history.json()["results"]] == [False]
    assert history.json()["next"]
    page2 = merchant_api.get(history.json()["next"])
    assert [e["granted"] for e in page2.json()["results"]] == [True]


def test_retention_purges_old_rows(shop, settings) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from customers.models import CustomerAccessGrant
    from customers.services import customers_retention_purge
    from merchants.models import IdempotencyRecord
    from payments.models import StripeEvent

    old = timezone.now() - timedelta(days=400)
    CustomerAccessGrant.objects.update(expires_at=old)
    event = StripeEvent.objects.create(
        event_id="evt_1", type="x", payload={"a": "b"}, processed_at=old
    )
    StripeEvent.objects.filter(pk=event.pk).update(received_at=old)
    IdempotencyRecord.objects.create(
        api_key=shop.web_key, key="k", request_fingerprint="f", status="completed"
    )
    IdempotencyRecord.objects.update(created_at=old)
    settings.KASSA_ERASE_INACTIVE_AFTER_DAYS = None
    purged = customers_retention_purge()
    assert purged["access_grants"] >= 1
    assert purged["idempotency_records"] == 1
    assert purged["payments.stripe_event_payloads"] == 1
    assert StripeEvent.objects.get(pk=event.pk).payload == {}
    assert purged["inactive_customers_erased"] == 0


def test_merge_audit_lists_what_each_app_moved(shop) -> None:
    other = CustomerFactory.create(merchant=shop.merchant)
    record = customer_merge(
        survivor=other, absorbed=shop.customer, reason="r", source="staff_api", actor=ACTOR
    )
    assert isinstance(CustomerMerge.objects.get(pk=record.pk).moved, list)
