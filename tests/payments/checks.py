"""DESIGN.md's invariants, checked against the database and Stripe after a scenario."""

from moneyed import Money

from config.money import to_minor_units
from payments.models import Payment, Tender
from wallet.ledger import ledger_verify
from wallet.models import Transfer, VoucherRedemption


def _sum(values: list[Money], currency: str) -> Money:
    return sum(values, Money(0, currency))


def assert_invariants(stripe) -> None:
    # 1. every transfer balances, every balance equals its entries, nothing below zero
    assert ledger_verify() == []
    for payment in Payment.objects.prefetch_related("tenders", "refunds__allocations"):
        currency = payment.amount.currency.code
        tenders = list(payment.tenders.all())
        # 2. captured and refunded add up, per tender and in total
        assert _sum([t.captured_amount for t in tenders], currency) == payment.captured_amount
        assert _sum([t.refunded_amount for t in tenders], currency) == payment.refunded_amount
        assert all(t.refunded_amount <= t.captured_amount <= t.amount for t in tenders)
        if payment.status in (Payment.Status.AUTHORIZED, Payment.Status.CAPTURED):
            assert _sum([t.amount for t in tenders], currency) == payment.amount
        # 3. all or nothing
        if payment.status == Payment.Status.AUTHORIZED:
            assert {t.status for t in tenders} == {Tender.Status.AUTHORIZED}, payment
        if payment.status == Payment.Status.CAPTURED:
            assert {t.status for t in tenders} <= {Tender.Status.CAPTURED, Tender.Status.VOIDED}
        if payment.status == Payment.Status.REQUIRES_ACTION:  # waiting: every hold kept
            assert Tender.Status.REQUIRES_ACTION in {t.status for t in tenders}, payment
            assert {t.status for t in tenders} <= {
                Tender.Status.AUTHORIZED,
                Tender.Status.REQUIRES_ACTION,
            }, payment
            assert not Transfer.objects.filter(
                pk__in=[t.wallet_transfer_id for t in tenders if t.wallet_transfer_id],
                resolution__isnull=False,
            ).exists(), "a payment waiting for 3-D Secure keeps its holds"
        if payment.status in (Payment.Status.FAILED, Payment.Status.VOIDED):
            assert payment.captured_amount.amount == 0
            holds = [t.wallet_transfer_id for t in tenders if t.wallet_transfer_id]
            assert not Transfer.objects.filter(pk__in=holds, resolution__isnull=True).exists(), (
                "every hold of a failed or voided payment is released"
            )
            assert not VoucherRedemption.objects.filter(
                pk__in=[t.voucher_redemption_id for t in tenders if t.voucher_redemption_id],
                status=VoucherRedemption.Status.RESERVED,
            ).exists()
        # every captured stored-value tender really took its value
        for tender in tenders:
            if tender.status == Tender.Status.CAPTURED:
                _assert_value_taken(tender)
        # Stripe agrees with every card tender
        for tender in tenders:
            if tender.method != Tender.Method.CARD or not tender.stripe_payment_intent_id:
                continue
            intent = stripe.v1.payment_intents.retrieve(tender.stripe_payment_intent_id)
            if tender.status == Tender.Status.CAPTURED:
                assert intent.status == "succeeded"
                charge = intent.to_dict()["latest_charge"]
                # What Stripe kept (localstripe books a partial capture as a refund of the rest,
                # real Stripe reports amount_captured) is what the tender keeps.
                kept = charge.get("amount_captured", charge["amount"]) - charge.get(
                    "amount_refunded", 0
                )
                assert kept == to_minor_units(tender.captured_amount - tender.refunded_amount)
            elif tender.status == Tender.Status.AUTHORIZED:
                assert intent.status == "requires_capture"
            elif tender.status == Tender.Status.REQUIRES_ACTION:
                assert intent.status == "requires_action"
            elif intent.status == "succeeded":  # captured, then given back when the payment failed
                charge = intent.to_dict()["latest_charge"]
                assert charge.get("amount_refunded", 0) == charge["amount"], charge
            else:
                assert intent.status in ("canceled", "requires_payment_method"), intent.status


def _assert_value_taken(tender: Tender) -> None:
    """A captured gift card, points or voucher tender has a posted transfer for what it took."""
    if tender.method == Tender.Method.VOUCHER:
        assert tender.voucher_redemption is not None
        assert tender.voucher_redemption.status in (
            VoucherRedemption.Status.CONSUMED,
            VoucherRedemption.Status.REINSTATED,
        ), tender
        return
    if tender.method not in (Tender.Method.GIFT_CARD, Tender.Method.LOYALTY_POINTS):
        return
    transfer = tender.wallet_transfer
    assert transfer is not None, tender
    if transfer.kind == Transfer.Kind.PENDING:
        transfer = transfer.resolution
        assert transfer.kind == Transfer.Kind.POST_PENDING, f"{tender}: hold not posted"
    taken = (
        tender.points
        if tender.method == Tender.Method.LOYALTY_POINTS
        else (tender.captured_amount.amount)
    )
    assert transfer.amount == taken, f"{tender}: posted {transfer.amount}, captured {taken}"
