"""Gift cards taken offline, bounded: the float, a till's allowance (a hold on it), and the
replay that finds the card short (a shortfall for the back office, never a negative card)."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from moneyed import Money

from config.actors import system_actor
from payments.models import Payment, Tender
from tests.tills.conftest import Till
from tests.wallet.factories import issue_card
from tills.models import OfflineAllowance, OfflineFloat, OfflineShortfall
from tills.offline_value import (
    offline_float_fund,
    offline_shortfall_record,
    offline_shortfall_resolve,
)
from wallet.errors import ReasonRequired
from wallet.guessing import FAILURES_PER_API_KEY, code_attempt_failed
from wallet.models import CodeAttemptWindow

pytestmark = pytest.mark.django_db
ACTOR = system_actor("test")
SHORTFALLS = "/admin/tills/offlineshortfall/"


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def post(till: Till, path: str, body: dict[str, Any]) -> Any:
    return till.api.post(
        f"/api/v1/{path}", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
    )


def replay(till: Till, amount: str, code: str, pin: str | None = "1234", **extra: Any) -> Any:
    tender = {"method": "offline_gift_card", "code": code, **({"pin": pin} if pin else {})}
    body = {
        "amount": eur(amount),
        "tenders": [tender],
        "capture": True,
        "offline": True,
        "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        **extra,
    }
    return post(till, "payments", body)


def float_available(till: Till) -> Decimal:
    account = OfflineFloat.objects.get(merchant=till.store.merchant).account
    account.refresh_from_db()
    return account.available


@pytest.fixture
def allowance(till: Till) -> dict[str, Any]:
    offline_float_fund(merchant=till.store.merchant, amount=Money("1000.00", "EUR"), actor=ACTOR)
    answer = post(till, "tills/offline-allowance", {"amount": eur("100.00")})
    assert answer.status_code == 201, answer.json()
    return dict(answer.json())


def test_an_allowance_is_a_hold_on_the_float_and_in_the_policy(
    till: Till, allowance: dict[str, Any]
) -> None:
    assert (allowance["amount"], allowance["remaining"]) == (eur("100.00"), eur("100.00"))
    assert float_available(till) == Decimal("900.00")
    policy = till.api.get("/api/v1/tills/offline-policy").json()
    assert [a["id"] for a in policy["allowances"]] == [allowance["id"]]


def test_a_card_short_on_replay_gives_a_shortfall_never_a_negative_balance(
    till: Till, allowance: dict[str, Any]
) -> None:
    card = issue_card(till.store.merchant, "10.00", pin="1234")
    answer = replay(till, "30.00", card.code)
    assert answer.status_code == 201, answer.json()
    assert answer.json()["captured_amount"] == eur("30.00")
    card.gift_card.account.refresh_from_db()
    assert card.gift_card.account.available == Decimal("0.00")
    assert card.gift_card.account.balance == Decimal("0.00")
    shortfall = OfflineShortfall.objects.get()
    assert (shortfall.amount, shortfall.card_paid, shortfall.status) == (
        Money("20.00", "EUR"),
        Money("10.00", "EUR"),
        OfflineShortfall.Status.OPEN,
    )
    assert str(shortfall.payment_id) == answer.json()["id"]
    state = OfflineAllowance.objects.get()
    assert (state.used, state.remaining) == (Money("20.00", "EUR"), Money("80.00", "EUR"))
    assert state.hold is not None
    assert state.hold.amount == Decimal("80.00")
    # The float paid the gap and still holds the rest of the allowance.
    assert float_available(till) == Decimal("900.00")


def test_a_card_that_covers_the_sale_leaves_no_shortfall(
    till: Till, allowance: dict[str, Any]
) -> None:
    card = issue_card(till.store.merchant, "50.00", pin="1234")
    answer = replay(till, "30.00", card.code)
    assert answer.status_code == 201
    card.gift_card.account.refresh_from_db()
    assert card.gift_card.account.available == Decimal("20.00")
    assert not OfflineShortfall.objects.exists()
    assert OfflineAllowance.objects.get().remaining == Money("100.00", "EUR")


def test_an_unknown_code_is_a_shortfall_of_the_whole_tender(
    till: Till, allowance: dict[str, Any]
) -> None:
    answer = replay(till, "15.00", "AAAA-BBBB-CCCC-WXYZ", pin=None)
    assert answer.status_code == 201, answer.json()
    shortfall = OfflineShortfall.objects.get()
    assert (shortfall.gift_card, shortfall.code_last4, shortfall.amount) == (
        None,
        "WXYZ",
        Money("15.00", "EUR"),
    )


def test_a_replayed_card_sale_is_exactly_once(till: Till, allowance: dict[str, Any]) -> None:
    card = issue_card(till.store.merchant, "10.00", pin="1234")
    tender = {"method": "offline_gift_card", "code": card.code, "pin": "1234"}
    body = {
        "amount": eur("30.00"),
        "tenders": [tender],
        "capture": True,
        "offline": True,
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    key = str(uuid.uuid4())
    for _ in range(2):
        answer = till.api.post("/api/v1/payments", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        assert answer.status_code == 201
    assert (Payment.objects.count(), OfflineShortfall.objects.count()) == (1, 1)


def test_a_card_taken_offline_only_in_a_replayed_offline_sale(
    till: Till, allowance: dict[str, Any]
) -> None:
    card = issue_card(till.store.merchant, "10.00", pin="1234")
    body = {
        "amount": eur("5.00"),
        "tenders": [{"method": "offline_gift_card", "code": card.code, "pin": "1234"}],
        "capture": True,
    }
    answer = post(till, "payments", body)
    assert (answer.status_code, answer.json()["code"]) == (422, "offline_value_refused")


def test_no_allowance_no_card_offline(till: Till) -> None:
    card = issue_card(till.store.merchant, "10.00", pin="1234")
    answer = replay(till, "5.00", card.code)
    assert (answer.status_code, answer.json()["code"]) == (422, "offline_value_refused")


def test_renew_and_release_give_the_hold_back_to_the_float(
    till: Till, allowance: dict[str, Any]
) -> None:
    renewed = post(till, "tills/offline-allowance", {"amount": eur("150.00")})
    assert renewed.status_code == 201
    assert float_available(till) == Decimal("850.00")
    assert OfflineAllowance.objects.filter(status="active").count() == 1
    released = post(till, "tills/offline-allowance/release", {"currency": "EUR"})
    assert (released.status_code, released.json()["status"]) == (200, "released")
    assert float_available(till) == Decimal("1000.00")
    again = post(till, "tills/offline-allowance/release", {"currency": "EUR"})
    assert again.status_code == 204


def test_an_allowance_is_bounded_by_the_float_and_the_setting(
    till: Till, allowance: dict[str, Any], settings
) -> None:
    settings.KASSA_TILL_OFFLINE = {"max_allowance": "2000.00"}
    short = post(till, "tills/offline-allowance", {"amount": eur("1001.00")})
    assert (short.status_code, short.json()["code"]) == (409, "offline_float_short")
    settings.KASSA_TILL_OFFLINE = {"max_allowance": "50.00"}
    over = post(till, "tills/offline-allowance", {"amount": eur("60.00")})
    assert (over.status_code, over.json()["code"]) == (422, "offline_value_refused")
    usd = post(till, "tills/offline-allowance", {"amount": {"amount": "10.00", "currency": "USD"}})
    assert (usd.status_code, usd.json()["code"]) == (409, "offline_float_short")


def test_a_refund_goes_back_to_the_card_up_to_what_it_paid(
    till: Till, allowance: dict[str, Any]
) -> None:
    card = issue_card(till.store.merchant, "10.00", pin="1234")
    payment = replay(till, "30.00", card.code).json()
    too_much = post(till, f"payments/{payment['id']}/refunds", {"amount": eur("15.00")})
    assert (too_much.status_code, too_much.json()["code"]) == (422, "offline_value_refused")
    refunded = post(till, f"payments/{payment['id']}/refunds", {"amount": eur("10.00")})
    assert refunded.status_code == 201, refunded.json()
    card.gift_card.account.refresh_from_db()
    assert card.gift_card.account.available == Decimal("10.00")


def _office(*codenames: str) -> Client:
    user = User.objects.create_user(f"office-{uuid.uuid4().hex[:8]}", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="tills", codename__in=codenames)
    )
    client = Client()
    client.force_login(user)
    return client


def _act(client: Client, action: str, shortfall: OfflineShortfall, **form: str) -> Any:
    return client.post(SHORTFALLS, {"action": action, ACTION_CHECKBOX_NAME: [shortfall.pk], **form})


def test_the_back_office_lists_and_resolves_shortfalls_with_a_reason(
    till: Till, allowance: dict[str, Any]
) -> None:
    card = issue_card(till.store.merchant, "10.00", pin="1234")
    replay(till, "30.00", card.code)
    office = _office("view_offlineshortfall", "change_offlineshortfall", "view_offlineallowance")
    page = office.get(SHORTFALLS)
    assert page.status_code == 200
    assert "20.00" in page.content.decode()
    shortfall = OfflineShortfall.objects.get()
    asked = _act(office, "write_off", shortfall)
    assert "reason" in asked.content.decode()  # the confirmation page, nothing done yet
    _act(office, "write_off", shortfall, post="yes", reason=" ")
    shortfall.refresh_from_db()
    assert shortfall.status == OfflineShortfall.Status.OPEN  # no reason, no write-off
    _act(office, "write_off", shortfall, post="yes", reason="customer unreachable")
    shortfall.refresh_from_db()
    assert (shortfall.status, shortfall.resolution_reason) == (
        OfflineShortfall.Status.WRITTEN_OFF,
        "customer unreachable",
    )
    assert shortfall.resolved_by.startswith("user:")
    history = LogEntry.objects.get(object_id=str(shortfall.pk))
    assert "customer unreachable" in history.get_change_message()
    again = offline_shortfall_resolve(
        shortfall=shortfall, status=OfflineShortfall.Status.RECOVERED, reason="paid", actor=ACTOR
    )
    assert again.status == OfflineShortfall.Status.WRITTEN_OFF  # resolved once
    assert office.get("/admin/tills/offlineallowance/").status_code == 200


def test_who_may_only_look_at_shortfalls_cannot_resolve_them(
    till: Till, allowance: dict[str, Any]
) -> None:
    replay(till, "15.00", "AAAA-BBBB-CCCC-WXYZ", pin=None)
    shortfall = OfflineShortfall.objects.get()
    reader = _office("view_offlineshortfall")
    page = reader.get(SHORTFALLS).content.decode()
    assert "write_off" not in page
    assert "mark_recovered" not in page
    _act(reader, "write_off", shortfall, post="yes", reason="just because")
    shortfall.refresh_from_db()
    assert shortfall.status == OfflineShortfall.Status.OPEN
    with pytest.raises(ReasonRequired):
        offline_shortfall_resolve(
            shortfall=shortfall, status=OfflineShortfall.Status.RECOVERED, reason="", actor=ACTOR
        )


def test_a_made_up_tender_above_the_per_sale_cap_is_refused(
    till: Till, allowance: dict[str, Any], settings
) -> None:
    settings.KASSA_TILL_OFFLINE = {"currencies": {"EUR": {"max_sale": "50.00"}}}
    answer = replay(till, "50.01", "AAAA-BBBB-CCCC-WXYZ", pin=None)
    assert (answer.status_code, answer.json()["code"]) == (422, "offline_value_refused")
    assert answer.json()["meta"] == {"max_sale": "50.00", "currency": "EUR"}
    assert not Payment.objects.exists()
    assert float_available(till) == Decimal("900.00")


def test_a_shortfall_above_what_is_left_of_the_allowance_is_refused_whole(
    till: Till, allowance: dict[str, Any]
) -> None:
    card = issue_card(till.store.merchant, "10.00", pin="1234")
    assert replay(till, "60.00", card.code).status_code == 201  # 50.00 short: 50.00 left
    answer = replay(till, "50.01", "AAAA-BBBB-CCCC-WXYZ", pin=None)
    assert (answer.status_code, answer.json()["code"]) == (422, "offline_value_refused")
    assert answer.json()["meta"] == {"shortfall": "50.01", "remaining": "50.00"}
    assert (Payment.objects.count(), OfflineShortfall.objects.count()) == (1, 1)
    state = OfflineAllowance.objects.get()
    assert (state.remaining, state.hold.amount if state.hold else None) == (
        Money("50.00", "EUR"),
        Decimal("50.00"),
    )
    assert float_available(till) == Decimal("900.00")


def test_a_released_allowance_is_not_used(till: Till, allowance: dict[str, Any]) -> None:
    assert post(till, "tills/offline-allowance/release", {"currency": "EUR"}).status_code == 200
    answer = replay(till, "15.00", "AAAA-BBBB-CCCC-WXYZ", pin=None)
    assert (answer.status_code, answer.json()["code"]) == (422, "offline_value_refused")
    assert not OfflineShortfall.objects.exists()
    assert float_available(till) == Decimal("1000.00")


def test_a_card_in_another_currency_pays_nothing_its_tender_is_a_shortfall(
    till: Till, allowance: dict[str, Any]
) -> None:
    card = issue_card(till.store.merchant, "50.00", "GBP", pin="1234")
    answer = replay(till, "30.00", card.code)
    assert answer.status_code == 201, answer.json()
    card.gift_card.account.refresh_from_db()
    assert card.gift_card.account.balance == Decimal("50.00")
    shortfall = OfflineShortfall.objects.get()
    assert (shortfall.gift_card, shortfall.amount, shortfall.card_paid) == (
        card.gift_card,
        Money("30.00", "EUR"),
        Money("0.00", "EUR"),
    )


def test_a_till_locked_out_for_guessing_still_replays_its_offline_sales(
    till: Till, allowance: dict[str, Any]
) -> None:
    replay(till, "1.00", "AAAA-BBBB-CCCC-WXYZ", pin=None)  # an unknown code still counts
    assert CodeAttemptWindow.objects.get(key=f"key:{till.key.pk}").failures == 1
    for _ in range(FAILURES_PER_API_KEY):
        code_attempt_failed(api_key_id=till.key.pk, client_ip=None)
    card = issue_card(till.store.merchant, "50.00", pin="1234")
    answer = replay(till, "30.00", card.code)
    assert answer.status_code == 201, answer.json()
    # Locked out, the card is not looked up: the tender is a shortfall within the allowance.
    card.gift_card.account.refresh_from_db()
    assert card.gift_card.account.balance == Decimal("50.00")
    assert OfflineShortfall.objects.get(payment_id=answer.json()["id"]).amount == Money(
        "30.00", "EUR"
    )


def test_a_shortfall_locks_the_float_account_before_the_allowance(
    till: Till, allowance: dict[str, Any]
) -> None:
    card = issue_card(till.store.merchant, "50.00", pin="1234")
    paid = replay(till, "10.00", card.code).json()
    tender = Tender.objects.select_related("payment").get(payment__public_id=paid["id"])
    with CaptureQueriesContext(connection) as queries:
        offline_shortfall_record(
            allowance=OfflineAllowance.objects.get(),
            tender=tender,
            gift_card=None,
            code_last4="",
            shortfall=Decimal("1.00"),
            actor=ACTOR,
        )
    locks = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
    assert "wallet_ledgeraccount" in locks[0]
    assert any("tills_offlineallowance" in sql for sql in locks[1:])


def test_a_retried_release_replays_its_answer_and_never_releases_a_renewed_allowance(
    till: Till, allowance: dict[str, Any]
) -> None:
    key = str(uuid.uuid4())

    def release() -> Any:
        return till.api.post(
            "/api/v1/tills/offline-allowance/release",
            {"currency": "EUR"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=key,
        )

    first = release()
    assert (first.status_code, first.json()["id"]) == (200, allowance["id"])
    renewed = post(till, "tills/offline-allowance", {"amount": eur("50.00")})
    assert renewed.status_code == 201
    retried = release()  # the answer to the first release was lost: the till retries
    assert (retried.status_code, retried.json()["id"]) == (200, allowance["id"])
    assert OfflineAllowance.objects.get(status="active").public_id == uuid.UUID(
        renewed.json()["id"]
    )
    assert float_available(till) == Decimal("950.00")
    keyless = till.api.post(
        "/api/v1/tills/offline-allowance/release", {"currency": "EUR"}, format="json"
    )
    assert (keyless.status_code, keyless.json()["code"]) == (400, "idempotency_key_required")
