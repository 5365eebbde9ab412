from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from customers.models import Customer, CustomerAccessGrant
from merchants.models import ApiKey

ACCESS_GRANT_TTL = timedelta(hours=2)


@transaction.atomic
def customer_access_grant(*, api_key: ApiKey, customer: Customer) -> CustomerAccessGrant | None:
    """Record that a till identified `customer`, so it may read their wallet and charge it."""
    if api_key.scope != ApiKey.Scope.TERMINAL:
        return None
    now = timezone.now()
    grant, _ = CustomerAccessGrant.objects.update_or_create(
        api_key=api_key,
        customer=customer,
        defaults={"granted_at": now, "expires_at": now + ACCESS_GRANT_TTL},
    )
    return grant
