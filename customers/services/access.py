"""Till access to a customer (grants and their strength) and identifier removal."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from customers.models import Customer, CustomerAccessGrant, Identifier, Strength
from customers.selectors import customer_survivor
from merchants.models import ApiKey

ACCESS_GRANT_TTL = timedelta(hours=2)
# A strong presentation proves who is at the till now, not for the rest of the day.
STRONG_PRESENTATION_TTL = timedelta(minutes=15)


@transaction.atomic
def customer_access_grant(
    *, api_key: ApiKey, customer: Customer, strength: Strength = Strength.WEAK
) -> CustomerAccessGrant | None:
    """Record that a till identified `customer` with `strength`, so it may reach them.

    A weaker presentation never takes away a strength still in force. The grant goes to the
    survivor: a grant on a merge tombstone would reach nobody.
    """
    if api_key.scope != ApiKey.Scope.TERMINAL:
        return None
    now = timezone.now()
    grant, _ = CustomerAccessGrant.objects.update_or_create(
        api_key=api_key,
        customer=customer_survivor(customer),
        defaults={"granted_at": now, "expires_at": now + ACCESS_GRANT_TTL},
    )
    if strength >= Strength.LOYALTY:
        grant.loyalty_strong_until = now + STRONG_PRESENTATION_TTL
    if strength >= Strength.WALLET:
        grant.wallet_strong_until = now + STRONG_PRESENTATION_TTL
    grant.save(update_fields=["loyalty_strong_until", "wallet_strong_until"])
    customer.__dict__.pop("_grants", None)  # the strength read before this no longer holds
    return grant


@transaction.atomic
def identifier_remove(*, identifier: Identifier) -> Identifier:
    """Take an identifier off its customer; the row stays for the audit trail, the value is free."""
    identifier = Identifier.objects.select_for_update().get(pk=identifier.pk)
    if identifier.removed_at is None:
        identifier.removed_at = timezone.now()
        identifier.save(update_fields=["removed_at"])
    return identifier
