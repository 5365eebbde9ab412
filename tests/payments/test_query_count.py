"""The cost of one split payment in SQL statements, held to a bound so regressions show."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.payments.conftest import money

pytestmark = pytest.mark.django_db

# Measured 57 (was 82) on the merchant's first payment, which also creates three system ledger
# accounts; the stored-value holds are one set-based ledger write, but this path still pays the
# voucher's reservation through the wallet services (savepoints) and two Stripe round trips'
# bookkeeping; see docs/performance.md. The target is 30. Raise it only with a reason.
MAX_STATEMENTS_FOUR_TENDERS = 57


def test_a_four_tender_split_payment_runs_a_bounded_number_of_statements(shop) -> None:
    body = {
        "amount": money("100.00"),
        "customer": str(shop.customer.public_id),
        "tenders": [
            {"method": "voucher", "code": shop.voucher_code},
            {"method": "gift_card", "gift_card": str(shop.gift_card.public_id)},
            {"method": "loyalty_points", "points": 500},
            {"method": "card", "bank_card": str(shop.bank_card.public_id)},
        ],
    }
    with CaptureQueriesContext(connection) as queries:
        response = shop.web.post(
            "/api/v1/payments", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
        )
    assert response.status_code == 201, response.json()
    print(f"\nfour-tender split payment (authorise): {len(queries)} SQL statements")
    assert len(queries) <= MAX_STATEMENTS_FOUR_TENDERS
