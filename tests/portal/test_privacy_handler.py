"""The portal's part of the customer-data contract: its one-time codes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.privacy.contract import privacy_handler_for
from customers.services import customer_erase, customer_merge
from portal.models import OneTimeCode
from tests.portal.conftest import make_customer, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_codes_are_exported_moved_on_merge_and_erased(client, merchant) -> None:
    ada = make_customer(merchant, "ada@example.com")
    bob = make_customer(merchant, "bob@example.com", first_name="Bob")
    sign_in(client, "ada@example.com")
    client.post("/portal/sign-out/")
    sign_in(client, "bob@example.com")
    handler = privacy_handler_for("portal")

    exported = handler.export(customer=ada)["one_time_codes"]
    assert [(code["purpose"], code["sent_to"]) for code in exported] == [
        ("sign_in", "ada@example.com")
    ]
    assert "code_hash" not in exported[0]

    customer_merge(
        survivor=ada, absorbed=bob, reason="same person", source="admin", actor="system:test"
    )
    assert OneTimeCode.objects.filter(customer=bob).count() == 0
    assert OneTimeCode.objects.filter(customer=ada).count() == 2

    customer_erase(customer=ada, reason="asked", stored_value=None, actor="system:test")
    assert not OneTimeCode.objects.filter(destination__in=["ada@example.com", "bob@example.com"])
    assert not OneTimeCode.objects.filter(customer=ada).exists()


def test_expired_codes_are_purged_a_day_later(client, merchant) -> None:
    make_customer(merchant, "ada@example.com")
    sign_in(client, "ada@example.com")
    handler = privacy_handler_for("portal")
    assert handler.retention_purge(now=timezone.now()) == {"portal_one_time_codes": 0}
    later = timezone.now() + timedelta(days=1, minutes=11)
    assert handler.retention_purge(now=later) == {"portal_one_time_codes": 1}
