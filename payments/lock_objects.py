"""Row locks for payments, taken before any wallet lock (the canonical order is the payment,
then instrument ledger accounts by primary key, then vouchers by primary key; a payment
with a customer locks the customer (its merge survivor) before the payment row is written)."""

from django.db.models import QuerySet

from payments.models import Payment, Tender


def lock_payment(payment_id: int) -> Payment:
    return Payment.objects.select_for_update(of=("self",)).get(pk=payment_id)


def payment_tenders(payment: Payment) -> QuerySet[Tender]:
    """In plan order, with the instruments the engine and `lock_wallet_rows` read."""
    return payment.tenders.select_related(
        "gift_card__account", "loyalty_account__programme", "loyalty_account__account", "bank_card"
    ).order_by("sequence")
