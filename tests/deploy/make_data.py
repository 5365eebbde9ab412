"""Run inside the topology's environment (`python -m tests.deploy.make_data [CARDS [EUR]]`): a
merchant, a till and a web key, gift cards with PIN 4321 (one of 20 EUR by default) and a saved
bank card; prints them as JSON."""

import json
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
django.setup()

from config.stripe import stripe_client  # noqa: E402
from customers.models import Strength  # noqa: E402
from customers.services import customer_access_grant  # noqa: E402
from merchants.models import ApiKey, Merchant, Store, Terminal  # noqa: E402
from merchants.services import api_key_issue  # noqa: E402
from tests.factories import CustomerFactory  # noqa: E402
from tests.payments.conftest import saved_card  # noqa: E402
from tests.wallet.factories import issue_card  # noqa: E402

merchant = Merchant.objects.create(name="Topology Retail")
store = Store.objects.create(merchant=merchant, code="TOPO", name="Topology store")
till = Terminal.objects.create(store=store, code="T1", name="Till one")
customer = CustomerFactory.create(merchant=merchant)
count, amount = (int(sys.argv[1]), sys.argv[2]) if len(sys.argv) > 2 else (1, "20.00")
cards = [issue_card(merchant, amount, pin="4321") for _ in range(count)]
card = cards[0]
till_key, till_raw = api_key_issue(
    merchant=merchant, scope=ApiKey.Scope.TERMINAL, name="till", terminal=till
)
customer_access_grant(api_key=till_key, customer=customer, strength=Strength.WALLET)
_, web_raw = api_key_issue(merchant=merchant, scope=ApiKey.Scope.MERCHANT, name="web")
bank_card = saved_card(stripe_client(), customer)
print(
    json.dumps(
        {
            "till_key": till_raw,
            "web_key": web_raw,
            "gift_card_code": card.code,
            "gift_card_codes": [each.code for each in cards],
            "gift_card": str(card.gift_card.public_id),
            "customer": str(customer.public_id),
            "bank_card": str(bank_card.public_id),
        }
    )
)
