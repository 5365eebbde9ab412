"""Payment models: payments, their tenders, refunds and events.

One module per area; every model is re-exported here, so `from payments.models import X` works
and Django finds the models when it imports the app's `models`.
"""

from payments.models.common import MONEY, PaymentChannel, PaymentStatus, TenderStatus
from payments.models.events import PaymentEvent, StripeEvent
from payments.models.payments import Payment
from payments.models.refunds import Refund, RefundAllocation
from payments.models.tenders import Tender

__all__ = [
    "MONEY",
    "Payment",
    "PaymentChannel",
    "PaymentEvent",
    "PaymentStatus",
    "Refund",
    "RefundAllocation",
    "StripeEvent",
    "Tender",
    "TenderStatus",
]
