"""Guessing codes and PINs is rate-limited per API key and per client IP, with a lock-out."""

from datetime import timedelta

import pytest
from django.utils import timezone

from merchants.models import ApiKey
from merchants.services import api_key_issue
from tests.wallet.factories import issue_card
from wallet import guessing
from wallet.errors import CodeAttemptsLocked, CodeNotRecognised
from wallet.guessing import code_guessing_guard
from wallet.models import CodeAttemptWindow
from wallet.selectors import gift_card_find

pytestmark = pytest.mark.django_db


def _key(merchant) -> ApiKey:
    return api_key_issue(merchant=merchant, scope=ApiKey.Scope.MERCHANT, name="shop")[0]


def _guess(merchant, api_key, ip, code="WRNG-CODE-0000-0000", pin=None):
    with code_guessing_guard(api_key_id=api_key.pk, client_ip=ip):
        return gift_card_find(merchant_id=merchant.pk, code=code, pin=pin)


def test_a_key_is_locked_out_after_its_limit_even_for_a_right_code(merchant) -> None:
    issued = issue_card(merchant, pin="2468")
    api_key = _key(merchant)
    for attempt in range(guessing.FAILURES_PER_API_KEY):
        with pytest.raises(CodeNotRecognised):
            # wrong codes and wrong PINs count alike
            _guess(merchant, api_key, f"10.0.0.{attempt}", issued.code, pin="0000")
    with pytest.raises(CodeAttemptsLocked) as locked:
        _guess(merchant, api_key, "10.0.1.1", issued.code, pin="2468")
    assert locked.value.status == 429
    retry_after = locked.value.meta["retry_after_seconds"]
    assert 0 < retry_after <= guessing.LOCKOUT.total_seconds()
    # Another key from a clean IP is not affected.
    assert _guess(merchant, _key(merchant), "10.0.2.1", issued.code, pin="2468") == issued.gift_card


def test_an_ip_is_locked_out_across_keys(merchant) -> None:
    for _ in range(guessing.FAILURES_PER_IP):
        with pytest.raises(CodeNotRecognised):
            _guess(merchant, _key(merchant), "192.0.2.7")
    with pytest.raises(CodeAttemptsLocked):
        _guess(merchant, _key(merchant), "192.0.2.7")


def test_the_lock_out_ends_and_old_failures_age_out(merchant) -> None:
    api_key = _key(merchant)
    for _ in range(guessing.FAILURES_PER_API_KEY):
        with pytest.raises(CodeNotRecognised):
            _guess(merchant, api_key, None)
    with pytest.raises(CodeAttemptsLocked):
        _guess(merchant, api_key, None)
    CodeAttemptWindow.objects.update(locked_until=timezone.now() - timedelta(seconds=1))
    with pytest.raises(CodeNotRecognised):
        _guess(merchant, api_key, None)
    # Failures from a window that has passed start a new count.
    CodeAttemptWindow.objects.update(window_started_at=timezone.now() - guessing.WINDOW)
    with pytest.raises(CodeNotRecognised):
        _guess(merchant, api_key, None)
    assert CodeAttemptWindow.objects.get(key=f"key:{api_key.pk}").failures == 1
