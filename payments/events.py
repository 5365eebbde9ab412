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
    return PaymentEvent.objects.create(
        payment=payment, tender=tender, type=type, actor=actor, data=data or {}
    )
