"""`make run` prints the same demo keys and staff password on every start of one state folder."""

import io
import re
import stat

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from merchants.models import ApiKey
from merchants.selectors import api_key_authenticate
from merchants.services import api_key_revoke

pytestmark = pytest.mark.django_db


def _seed() -> tuple[list[str], str]:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    text = out.getvalue()
    password = re.search(r"password '([^']+)'", text)
    assert password is not None
    return re.findall(r"kassa_[mts]_[\w-]+", text), password.group(1)


def test_keys_and_password_survive_a_restart_and_only_their_owner_reads_them(
    settings, tmp_path
) -> None:
    settings.KASSA_STATE_DIR = tmp_path
    keys, password = _seed()
    assert len(keys) == 4
    assert all(api_key_authenticate(raw_key=key) is not None for key in keys)
    assert stat.S_IMODE((tmp_path / "demo-keys.json").stat().st_mode) == 0o600

    assert _seed() == (keys, password)
    assert ApiKey.objects.filter(revoked_at__isnull=True).count() == 4
    assert get_user_model().objects.get(username="admin").check_password(password)


def test_a_key_that_stopped_working_gets_all_keys_issued_anew(settings, tmp_path) -> None:
    settings.KASSA_STATE_DIR = tmp_path
    keys, _ = _seed()
    revoked = api_key_authenticate(raw_key=keys[0])
    assert revoked is not None
    api_key_revoke(api_key=revoked)

    fresh, _ = _seed()
    assert set(fresh).isdisjoint(keys)
    assert all(api_key_authenticate(raw_key=key) is not None for key in fresh)
    assert all(api_key_authenticate(raw_key=key) is None for key in keys)
