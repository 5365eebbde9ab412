import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from customers import demo as customers_demo
from merchants.models import ApiKey, Merchant, Store, Terminal
from merchants.services import api_key_issue, api_key_revoke
from portal import demo as portal_demo
from wallet import demo as wallet_demo

DEMO_MERCHANT = "Demo Retail"
DEMO_KEY_NAME = "demo"


class Command(BaseCommand):
    help = (
        "Create (once) the demo data set, then issue fresh demo API keys and a staff password "
        "and print them: keys are stored hashed, so each start prints new ones."
    )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        merchant, _ = Merchant.objects.get_or_create(name=DEMO_MERCHANT)
        store, _ = Store.objects.get_or_create(
            merchant=merchant, code="AMS-01", defaults={"name": "Amsterdam Centrum"}
        )
        tills = [
            Terminal.objects.get_or_create(store=store, code=code, defaults={"name": name})[0]
            for code, name in (("T1", "Till 1"), ("T2", "Till 2"))
        ]
        for old in ApiKey.objects.filter(
            merchant=merchant, name__startswith=DEMO_KEY_NAME, revoked_at__isnull=True
        ):
            api_key_revoke(api_key=old)
        lines = []
        _, raw = api_key_issue(
            merchant=merchant, scope=ApiKey.Scope.MERCHANT, name=f"{DEMO_KEY_NAME} web shop"
        )
        lines.append(f"  merchant key (web shop):  {raw}")
        for till in tills:
            _, raw = api_key_issue(
                merchant=merchant,
                scope=ApiKey.Scope.TERMINAL,
                terminal=till,
                name=f"{DEMO_KEY_NAME} till {till.code}",
            )
            lines.append(f"  terminal key {store.code}/{till.code}:  {raw}")
        _, raw = api_key_issue(
            merchant=merchant, scope=ApiKey.Scope.STAFF, name=f"{DEMO_KEY_NAME} back office"
        )
        lines.append(f"  staff key (back office):  {raw}")

        password = secrets.token_urlsafe(12)
        user_model = get_user_model()
        staff, _ = user_model.objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True}
        )
        staff.set_password(password)
        staff.save()

        self.stdout.write(f"Demo merchant {merchant.name!r}, store {store.code}, tills T1 and T2.")
        self.stdout.write("API keys (Authorization: Bearer <key>):")
        for line in lines:
            self.stdout.write(line)
        self.stdout.write(f"Back office: /admin/  user 'admin'  password {password!r}")
        for app_demo in (customers_demo, wallet_demo, portal_demo):
            for line in app_demo.seed_demo(merchant=merchant, store=store):
                self.stdout.write(line)
