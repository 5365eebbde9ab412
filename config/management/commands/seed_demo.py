import json
import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from customers import demo as customers_demo
from insights import demo as insights_demo
from merchants.models import ApiKey, Merchant, Store, Terminal
from merchants.selectors import api_key_authenticate
from merchants.services import api_key_issue, api_key_revoke
from portal import demo as portal_demo
from reconciliation import demo as reconciliation_demo
from tills import demo as tills_demo
from wallet import demo as wallet_demo

DEMO_MERCHANT = "Demo Retail"
DEMO_KEY_NAME = "demo"
KEYS_FILE = "demo-keys.json"


def _saved_secrets(path: Path, merchant: Merchant) -> tuple[dict[str, str], str] | None:
    """The demo keys and password printed last time, if every key still authenticates."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        keys, password = dict(saved["keys"]), str(saved["password"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    for raw in keys.values():
        api_key = api_key_authenticate(raw_key=str(raw))
        if api_key is None or api_key.merchant_id != merchant.pk:
            return None
    return {str(label): str(raw) for label, raw in keys.items()}, password


def _save_secrets(path: Path, keys: dict[str, str], password: str) -> None:
    """Readable by its owner only: these are live credentials of the local stack."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump({"keys": keys, "password": password}, handle, indent=2)


class Command(BaseCommand):
    help = (
        "Create (once) the demo data set and print the demo API keys and staff password. Keys are "
        "stored hashed, so their raw values are kept in $KASSA_STATE_DIR/demo-keys.json (mode "
        "600) and printed again on the next start; they are issued anew only if that file is "
        "missing or a key in it no longer works."
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
        keys_path = Path(settings.KASSA_STATE_DIR) / KEYS_FILE
        saved = _saved_secrets(keys_path, merchant)
        if saved is None:
            saved = self._fresh_secrets(merchant, store, tills)
            _save_secrets(keys_path, *saved)
        keys, password = saved
        lines = [f"  {label}:  {raw}" for label, raw in keys.items()]

        user_model = get_user_model()
        staff, _ = user_model.objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True}
        )
        if not staff.check_password(password):
            staff.set_password(password)
            staff.save()

        self.stdout.write(f"Demo merchant {merchant.name!r}, store {store.code}, tills T1 and T2.")
        self.stdout.write(
            f"API keys (Authorization: Bearer <key>), kept in {keys_path} across restarts:"
        )
        for line in lines:
            self.stdout.write(line)
        self.stdout.write(f"Back office: /admin/  user 'admin'  password {password!r}")
        for app_demo in (
            customers_demo,
            wallet_demo,
            portal_demo,
            tills_demo,
            insights_demo,
            reconciliation_demo,
        ):
            for line in app_demo.seed_demo(merchant=merchant, store=store):
                self.stdout.write(line)

    def _fresh_secrets(
        self, merchant: Merchant, store: Store, tills: list[Terminal]
    ) -> tuple[dict[str, str], str]:
        """Revoke the old demo keys, issue new ones and a new staff password."""
        for old in ApiKey.objects.filter(
            merchant=merchant, name__startswith=DEMO_KEY_NAME, revoked_at__isnull=True
        ):
            api_key_revoke(api_key=old)
        keys: dict[str, str] = {}
        _, keys["merchant key (web shop)"] = api_key_issue(
            merchant=merchant, scope=ApiKey.Scope.MERCHANT, name=f"{DEMO_KEY_NAME} web shop"
        )
        for till in tills:
            _, keys[f"terminal key {store.code}/{till.code}"] = api_key_issue(
                merchant=merchant,
                scope=ApiKey.Scope.TERMINAL,
                terminal=till,
                name=f"{DEMO_KEY_NAME} till {till.code}",
            )
        _, keys["staff key (back office)"] = api_key_issue(
            merchant=merchant, scope=ApiKey.Scope.STAFF, name=f"{DEMO_KEY_NAME} back office"
        )
        return keys, secrets.token_urlsafe(12)
