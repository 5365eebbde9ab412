import pytest

from merchants.models import ApiKey, Merchant, Terminal
from merchants.services import api_key_issue


@pytest.fixture
def till_key(merchant: Merchant, terminal: Terminal) -> ApiKey:
    return api_key_issue(
        merchant=merchant, scope=ApiKey.Scope.TERMINAL, name="till", terminal=terminal
    )[0]


@pytest.fixture
def shop_key(merchant: Merchant) -> ApiKey:
    return api_key_issue(merchant=merchant, scope=ApiKey.Scope.MERCHANT, name="web shop")[0]
