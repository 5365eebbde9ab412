"""What the customer does in the portal, through the apps' services and selectors.

Every write names the customer as its actor (`customer:<public id>`) where the service records
one, and every lookup is confined to the portal's merchant and the signed-in customer.
"""

from django.conf import settings
from django.db import transaction

from config.actors import customer_actor
from customers.models import Channel, Customer, CustomerMerge
from customers.normalisation import IdentifierKind, identifier_normalise
from customers.policy import PresentedIdentifier
from customers.selectors import customer_survivor, customers_with_identifier, identifiers_live
from customers.services import consent_record, customer_identify, customer_merge
from merchants.models import Merchant
from portal.codes import code_check, code_issue
from portal.errors import AlreadyLinked
from portal.models import OneTimeCode
from wallet.guessing import code_guessing_guard
from wallet.models import GiftCard
from wallet.selectors import gift_card_find
from wallet.services import gift_card_claim

Purpose = OneTimeCode.Purpose


def portal_merchant() -> Merchant:
    """The one merchant whose customers this portal serves (KASSA_PORTAL_MERCHANT)."""
    return Merchant.objects.get(name=settings.KASSA_PORTAL_MERCHANT)


def contact_normalise(raw: str) -> tuple[str, str]:
    """(kind, value) of an email or phone typed in a form; InvalidIdentifier if neither."""
    kind = IdentifierKind.EMAIL if "@" in raw else IdentifierKind.PHONE
    return kind, identifier_normalise(kind=kind, value=raw)


def _verified_owner(merchant: Merchant, kind: str, value: str) -> Customer | None:
    """The live customer holding this identifier verified; None for unknown or unverified."""
    for customer in customers_with_identifier(term=value).filter(merchant=merchant):
        customer = customer_survivor(customer)
        if customer.erased_at is not None:
            continue
        for identifier in identifiers_live(customer=customer):
            if (identifier.kind, identifier.value, identifier.verified) == (kind, value, True):
                return customer
    return None


def sign_in_start(*, merchant: Merchant, contact: str, client_ip: str | None) -> OneTimeCode:
    """Send a code to a verified identifier; for any other, a decoy row and nothing sent."""
    kind, value = contact_normalise(contact)
    owner = _verified_owner(merchant, kind, value)
    return code_issue(
        merchant=merchant,
        purpose=Purpose.SIGN_IN,
        destination=value,
        customer=owner,
        client_ip=client_ip,
        send=owner is not None,
    )


def register_start(
    *, merchant: Merchant, email: str, first_name: str, last_name: str, client_ip: str | None
) -> OneTimeCode:
    """Send a code to a new customer's email; reading it back proves the address."""
    value = identifier_normalise(kind=IdentifierKind.EMAIL, value=email)
    return code_issue(
        merchant=merchant,
        purpose=Purpose.REGISTER,
        destination=value,
        customer=None,
        client_ip=client_ip,
        payload={"first_name": first_name, "last_name": last_name},
    )


def sign_in_confirm(*, code_id: int, code: str) -> Customer:
    row = code_check(code_id=code_id, purpose=Purpose.SIGN_IN, code=code)
    assert row.customer is not None
    return customer_survivor(row.customer)


def register_confirm(*, code_id: int, code: str) -> Customer:
    """Create the customer with the email verified (or find the one already holding it)."""
    row = code_check(code_id=code_id, purpose=Purpose.REGISTER, code=code)
    identification = customer_identify(
        merchant=row.merchant,
        identifiers=[PresentedIdentifier(IdentifierKind.EMAIL, row.destination, verified=True)],
        channel=Channel.WEB,
        first_name=row.payload.get("first_name", ""),
        last_name=row.payload.get("last_name", ""),
    )
    assert identification.customer is not None
    return identification.customer


def loyalty_link_start(
    *, customer: Customer, card_number: str, client_ip: str | None
) -> OneTimeCode:
    """Send a code to the contact registered with the card; the number alone proves nothing.

    A card nobody holds, or whose holder has no verified contact, gets a decoy: the answer is
    the same, so the form does not tell which cards exist.
    """
    value = identifier_normalise(kind=IdentifierKind.LOYALTY_CARD, value=card_number)
    holder = _verified_owner(customer.merchant, IdentifierKind.LOYALTY_CARD, value)
    holder = holder or next(iter(customers_with_identifier(term=value)), None)
    if holder is not None and customer_survivor(holder).pk == customer.pk:
        raise AlreadyLinked(field="card_number")
    contact = None
    if holder is not None:
        contact = next(
            (
                identifier.value
                for identifier in identifiers_live(customer=holder)
                if identifier.verified
                and identifier.kind in (IdentifierKind.EMAIL, IdentifierKind.PHONE)
            ),
            None,
        )
    return code_issue(
        merchant=customer.merchant,
        purpose=Purpose.LINK_LOYALTY,
        destination=contact or f"card:{value}",
        customer=holder if contact else None,
        client_ip=client_ip,
        send=contact is not None,
        payload={"card": value, "requester": customer.pk},
    )


def loyalty_link_confirm(*, customer: Customer, code_id: int, code: str) -> Customer:
    """Both sides are proven (the session and the code): merge the card's holder into us."""
    row = code_check(code_id=code_id, purpose=Purpose.LINK_LOYALTY, code=code)
    assert row.customer is not None
    if row.payload.get("requester") != customer.pk:
        raise AlreadyLinked(field="code")
    customer_merge(
        survivor=customer,
        absorbed=row.customer,
        reason="customer portal: loyalty card linked, holder proved by a one-time code",
        source=CustomerMerge.Source.IDENTIFY,
        actor=customer_actor(customer.public_id),
    )
    return customer_survivor(customer)


def gift_card_claim_by_code(
    *, customer: Customer, code: str, pin: str, client_ip: str | None
) -> GiftCard:
    """Claim a card by code and PIN under the guessing limit (counted per client IP)."""
    with code_guessing_guard(api_key_id=None, client_ip=client_ip):
        card = gift_card_find(merchant_id=customer.merchant_id, code=code, pin=pin or None)
    return gift_card_claim(gift_card=card, customer=customer)


@transaction.atomic
def consent_set(*, customer: Customer, purpose: str, granted: bool) -> None:
    consent_record(
        customer=customer,
        purpose=purpose,
        granted=granted,
        channel=Channel.WEB,
        evidence=f"customer portal, privacy page: {'granted' if granted else 'withdrawn'} "
        f"by {customer_actor(customer.public_id)}",
    )
