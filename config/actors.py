"""Who acted, in one format for every audit row (ledger transfers, payment events, merges).

    api_key:<prefix>          a merchant, till or staff API key (its public prefix)
    user:<username>           a back-office user in the Django admin
    system:<task>             a periodic or background task (recovery, expiry, webhook, demo)
    customer:<public id>      the customer themselves (the portal)

Stored as text so that an audit row outlives the key, user or task that wrote it. A database
CHECK (ACTOR_PATTERN) refuses anything else, so an anonymous write cannot be recorded.
"""

import re
from typing import Protocol

ACTOR_PATTERN = r"^(api_key|user|system|customer):[^\s].{0,190}$"
_ACTOR_RE = re.compile(ACTOR_PATTERN)


class _ApiKeyLike(Protocol):
    prefix: str


class _UserLike(Protocol):
    def get_username(self) -> str: ...


def api_key_actor(api_key: _ApiKeyLike) -> str:
    return f"api_key:{api_key.prefix}"


def user_actor(user: _UserLike) -> str:
    return f"user:{user.get_username()}"


def system_actor(task: str) -> str:
    return f"system:{task}"


def customer_actor(public_id: object) -> str:
    return f"customer:{public_id}"


def actor_is_valid(actor: str) -> bool:
    return bool(_ACTOR_RE.match(actor))
