"""The one place the `stripe` SDK is configured, and the one translation of its errors.

Real Stripe in production, localstripe locally. Every SDK call goes through `stripe_call`, so
every app answers a declined card, an unreachable Stripe and a refused request with the same
stable codes.
"""

from collections.abc import Callable
from functools import lru_cache
from typing import ParamSpec, TypeVar

import stripe
from django.conf import settings
from django.db import connection

from config.errors import CardDeclined, StripeRefused, StripeUnavailable

P = ParamSpec("P")
T = TypeVar("T")


class NetworkCallInTransaction(RuntimeError):
    """A programming error: a Stripe call was made while a database transaction was open."""


def _transaction_open() -> bool:
    """True inside any atomic block but the ones a test case wraps around each test."""
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


@lru_cache(maxsize=4)
def _client(api_key: str, api_base: str, timeout: int) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base},
        max_network_retries=2,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


def stripe_client() -> stripe.StripeClient:
    """A client for the configured account; cached so HTTP connections are reused."""
    return _client(
        settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE, settings.STRIPE_TIMEOUT_SECONDS
    )


def stripe_call(operation: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run one SDK call, translating Stripe's exceptions into Kassa's errors.

    It refuses to run inside a transaction: a network call there would hold row locks for as
    long as Stripe takes to answer (DESIGN invariant 6), so the rule is structural.
    """
    if _transaction_open():
        raise NetworkCallInTransaction(
            f"{getattr(operation, '__qualname__', operation)} called inside a transaction"
        )
    try:
        return operation(*args, **kwargs)
    except stripe.CardError as error:
        raise CardDeclined(
            error.user_message or CardDeclined.default_detail,
            meta={"decline_code": error.code or "card_declined"},
        ) from error
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as error:
        raise StripeUnavailable() from error
    except stripe.StripeError as error:
        raise StripeRefused(str(error.user_message or error)[:300]) from error
