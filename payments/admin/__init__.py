"""Back office for payments: find any payment, read its whole story, capture, void or refund it.

Nothing here writes a money row itself. Every field is read-only and nothing can be added or
deleted; the three actions call the engine's own services (`payment_capture`, `payment_void`,
`refund_create`) behind a confirmation page, so the admin obeys exactly the rules, locks and
Stripe calls the API does. Void and refund ask for a reason, which the service records (payment
event, ledger transfers); the staff user and the reason also go to the admin history (LogEntry).
The actions are offered to staff holding `payments.change_payment`; `view_payment` only reads.

The pages live in one module per area; importing them here registers them with the admin site.
"""

from payments.admin.payments import PaymentAdmin, PaymentEventInline, TenderInline
from payments.admin.refunds import RefundForm, RefundInline
from payments.admin.stripe_events import StripeEventAdmin

__all__ = [
    "PaymentAdmin",
    "PaymentEventInline",
    "RefundForm",
    "RefundInline",
    "StripeEventAdmin",
    "TenderInline",
]
