"""Row locks for payments, taken before any wallet lock (the canonical order is payment, then
vouchers, then ledger accounts, each by primary key)."""

from django.db.models import QuerySet

from payments.models import Payment, Tender


def lock_payment(payment_id: int) -> Payment:
    return Payment.objects.select_for_update(of=("self",)).get(pk=payment_id)


def payment_tenders(payment: Payment) -> QuerySet[Tender]:
    return payment.tenders.order_by("sequence")
