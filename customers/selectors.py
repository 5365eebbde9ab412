import uuid

from django.core.exceptions import ValidationError
from django.db.models import FilteredRelation, Q, QuerySet
from django.utils import timezone

from customers.errors import CustomerErased, CustomerNotFound, StrongPresentationRequired
from customers.models import (
    ConsentEvent,
    ConsentPurpose,
    Customer,
    CustomerAccessGrant,
    Identifier,
    Strength,
)
from customers.normalisation import identifier_normalise_any
from merchants.models import ApiKey


def customer_survivor_id(pk: int) -> int:
    """Follow merge tombstones, read fresh from the database, to the live customer's id."""
    seen = {pk}
    while (
        next_pk := Customer.objects.values_list("merged_into_id", flat=True).get(pk=pk)
    ) is not None:
        if next_pk in seen:
            raise RuntimeError(f"merge cycle at customer {next_pk}")
        seen.add(next_pk)
        pk = next_pk
    return pk


def customer_survivor(customer: Customer) -> Customer:
    """Follow merge tombstones to the customer that now holds everything."""
    if customer.merged_into_id is None:
        return customer
    return Customer.objects.get(pk=customer_survivor_id(customer.merged_into_id))


def customer_access_strength(*, api_key: ApiKey, customer: Customer) -> Strength | None:
    """How far this key may go with this customer; None when it may not reach them at all.

    Merchant and staff keys hold the whole wallet: the web shop signs its own customers in.
    A till's grant is read once per customer object (one request: the payment's customer is
    checked when it is named, then by each tender that spends from its wallet).
    """
    if customer.merchant_id != api_key.merchant_id or customer.erased_at is not None:
        return None
    if api_key.scope != ApiKey.Scope.TERMINAL:
        return Strength.WALLET
    grants: dict[int, CustomerAccessGrant | None] = customer.__dict__.setdefault("_grants", {})
    if api_key.pk not in grants:
        grants[api_key.pk] = CustomerAccessGrant.objects.filter(
            api_key=api_key, customer=customer
        ).first()
    grant = grants[api_key.pk]
    return None if grant is None else grant.strength_at(timezone.now())


def customer_presentation_check(
    *, api_key: ApiKey, customer: Customer, strength: Strength = Strength.WALLET
) -> None:
    """Refuse unless this key reaches `customer` with at least `strength`.

    Out of reach is 404, as for a customer that does not exist; a till that identified the
    customer too weakly already knows they exist, so it gets 403 and what would be enough.
    """
    held = customer_access_strength(api_key=api_key, customer=customer)
    if held is None:
        raise CustomerNotFound(field="customer")
    if held < strength:
        raise StrongPresentationRequired(meta={"required": strength.label, "presented": held.label})


def _with_grant_of(customers: QuerySet[Customer], api_key: ApiKey) -> QuerySet[Customer]:
    """The till's grant (or None) read with the customer, in one query, as `key_grant`."""
    return customers.annotate(
        key_grant=FilteredRelation("access_grants", condition=Q(access_grants__api_key=api_key))
    ).select_related("key_grant")  # type: ignore[misc]  # django-stubs knows no FilteredRelation


def customer_get_for_api_key(
    *, api_key: ApiKey, public_id: uuid.UUID | str, strength: Strength = Strength.WALLET
) -> Customer:
    """The (surviving) customer this key may reach with `strength`; 404 alike for absent and
    out-of-reach ones.

    The default is the strongest, so a read or spend is safe unless its caller says that a
    weak presentation (a typed email) is enough, as attaching a sale or the minimal profile do.
    """
    customers = Customer.objects.all()
    if api_key.scope == ApiKey.Scope.TERMINAL:
        customers = _with_grant_of(customers, api_key)
    try:
        customer = customers.get(merchant_id=api_key.merchant_id, public_id=public_id)
    except (Customer.DoesNotExist, ValidationError) as error:
        raise CustomerNotFound(field="customer") from error
    if api_key.scope == ApiKey.Scope.TERMINAL and customer.merged_into_id is None:
        # select_related leaves `key_grant` unset when there is no grant
        customer.__dict__.setdefault("_grants", {})[api_key.pk] = customer.__dict__.get("key_grant")
    customer = customer_survivor(customer)
    if customer.erased_at is not None:
        raise CustomerErased(field="customer")
    customer_presentation_check(api_key=api_key, customer=customer, strength=strength)
    return customer


def customer_get_including_erased(*, api_key: ApiKey, public_id: uuid.UUID | str) -> Customer:
    """The (surviving) customer of this key's merchant, erased or not: for erasure itself,
    which answers an erased customer with its erasure record. Merchant and staff keys only."""
    try:
        customer = Customer.objects.get(merchant_id=api_key.merchant_id, public_id=public_id)
    except (Customer.DoesNotExist, ValidationError) as error:
        raise CustomerNotFound(field="customer") from error
    return customer_survivor(customer)


def consent_events(*, customer: Customer) -> QuerySet[ConsentEvent]:
    """The customer's consent history (merged customers' included), for newest-first pages."""
    return ConsentEvent.objects.filter(customer=customer)


def identifiers_live(*, customer: Customer) -> QuerySet[Identifier]:
    return customer.identifiers.filter(removed_at__isnull=True).order_by("kind", "value")


def consent_current(*, customer: Customer) -> dict[str, ConsentEvent | None]:
    """Every purpose with the latest event recorded for it (None: never asked, so not given)."""
    latest = (
        ConsentEvent.objects.filter(customer=customer)
        .order_by("purpose", "-recorded_at", "-pk")
        .distinct("purpose")
    )
    current: dict[str, ConsentEvent | None] = dict.fromkeys(ConsentPurpose.values)
    current.update({event.purpose: event for event in latest})
    return current


def customers_with_identifier(*, term: str) -> QuerySet[Customer]:
    """Customers holding a live identifier that `term` spells in any kind's normalised form."""
    condition = Q()
    for kind, value in identifier_normalise_any(term):
        condition |= Q(kind=kind, value=value)
    if not condition:
        return Customer.objects.none()
    owners = Identifier.objects.filter(condition, removed_at__isnull=True).values("customer_id")
    return Customer.objects.filter(pk__in=owners)
