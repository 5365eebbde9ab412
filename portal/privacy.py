"""Download-my-data and erase-my-account, behind two functions the privacy services will back.

Until the customers app's export and erasure services land, `export_document` is the portal's
own JSON of what it shows, and `erase` records an `ErasureRequest` (pending) for the privacy
service to carry out; the lead wires both to customers' services after the merge.
"""

from typing import Any

from django.db import transaction

from customers.models import Customer
from customers.selectors import consent_current, identifiers_live
from portal.models import ErasureRequest
from portal.selectors import consent_history, purchases_of
from wallet.selectors import customer_wallet


def _money(amount: Any) -> dict[str, str]:
    return {"amount": str(amount.amount), "currency": str(amount.currency)}


def export_document(customer: Customer) -> dict[str, Any]:
    """Everything the portal shows about the customer, as plain JSON."""
    wallet = customer_wallet(customer=customer)
    current = consent_current(customer=customer)
    return {
        "customer": {
            "id": str(customer.public_id),
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "created_at": customer.created_at.isoformat(),
        },
        "identifiers": [
            {"kind": i.kind, "value": i.value, "verified": i.verified}
            for i in identifiers_live(customer=customer)
        ],
        "consents": {
            purpose: None if event is None else event.granted for purpose, event in current.items()
        },
        "consent_history": [
            {
                "purpose": e.purpose,
                "granted": e.granted,
                "channel": e.channel,
                "recorded_at": e.recorded_at.isoformat(),
            }
            for e in consent_history(customer=customer)
        ],
        "wallet": {
            "gift_cards": [
                {
                    "id": str(c.public_id),
                    "last4": c.code_last4,
                    "currency": c.currency,
                    "status": c.status,
                    "balance": str(c.account.balance),
                    "held": str(c.account.held),
                }
                for c in wallet.gift_cards
            ],
            "vouchers": [
                {"id": str(v.public_id), "last4": v.code_last4, "kind": v.kind}
                for v in wallet.vouchers
            ],
            "loyalty": [
                {
                    "id": str(a.public_id),
                    "programme": a.programme.name,
                    "points": int(a.account.available),
                }
                for a in wallet.loyalty_accounts
            ],
            "bank_cards": [
                {"brand": b.brand, "last4": b.last4, "expiry": f"{b.exp_month:02d}/{b.exp_year}"}
                for b in wallet.bank_cards
            ],
        },
        "purchases": [
            {
                "id": str(p.public_id),
                "at": p.created_at.isoformat(),
                "channel": p.channel,
                "store": p.store.name if p.store else None,
                "status": p.status,
                "amount": _money(p.amount),
                "refunded": _money(p.refunded_amount),
                "basket": p.basket,
                "tenders": [
                    {"method": t.method, "amount": _money(t.amount)} for t in p.tenders.all()
                ],
            }
            for p in purchases_of(customer=customer)
        ],
    }


@transaction.atomic
def erase(customer: Customer, stored_value: str, reason: str = "") -> ErasureRequest:
    """Record the request (one pending per customer); the caller signs the customer out."""
    existing = ErasureRequest.objects.filter(
        customer=customer, status=ErasureRequest.Status.PENDING
    ).first()
    if existing is not None:
        return existing
    return ErasureRequest.objects.create(
        customer=customer, stored_value=stored_value, reason=reason
    )
