from typing import Any

from payments.models import Payment, PaymentEvent, Tender


def payment_event_record(
    *,
    payment: Payment,
    type: str,
    actor: str,
    tender: Tender | None = None,
    data: dict[str, Any] | None = None,
) -> PaymentEvent:
    """Append one line to the payment's history, in the transaction that changed the payment;
    `actor` (config.actors) says who, so the back office can tell a till from a recovery run."""
    event = payment_event_new(payment=payment, type=type, actor=actor, tender=tender, data=data)
    event.save()
    return event


def payment_event_new(
    *,
    payment: Payment,
    type: str,
    actor: str,
    tender: Tender | None = None,
    data: dict[str, Any] | None = None,
) -> PaymentEvent:
    """The event, not saved yet: for a write that inserts it with its payment."""
    return PaymentEvent(payment=payment, tender=tender, type=type, actor=actor, data=data or {})
