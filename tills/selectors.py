"""What a till session's drawer should hold, and its Z report, computed from the payments."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from moneyed import Money

from payments.models import Payment, RefundAllocation, Tender
from tills.models import CashMovement, OfflineAllowance, TillSession

CASH = Tender.Method.CASH


def _sales(session: TillSession, until: datetime) -> Any:
    """The terminal's captured sales made during the session (an offline sale by its own time)."""
    return (
        Payment.objects.annotate(made_at=Coalesce("occurred_at", "created_at"))
        .filter(
            terminal_id=session.terminal_id,
            made_at__gte=session.opened_at,
            made_at__lte=until,
            captured_amount__gt=0,
        )
        .order_by("made_at", "id")
    )


def _refunds(session: TillSession, until: datetime) -> Any:
    return RefundAllocation.objects.filter(
        refund__payment__terminal_id=session.terminal_id,
        refund__status="succeeded",
        refund__created_at__gte=session.opened_at,
        refund__created_at__lte=until,
    )


def _total(rows: Any, field: str) -> Decimal:
    return rows.aggregate(total=Sum(field))["total"] or Decimal("0")


def session_expected_cash(*, session: TillSession, until: datetime) -> Money:
    """Float + cash sales - cash refunds + cash in - cash out, over the session's time."""
    currency = session.float_amount.currency.code
    sales = Tender.objects.filter(payment__in=_sales(session, until), method=CASH)
    movements = CashMovement.objects.filter(session=session)
    expected = (
        session.float_amount.amount
        + _total(sales, "captured_amount")
        - _total(_refunds(session, until).filter(tender__method=CASH), "amount")
        + _total(movements.filter(kind=CashMovement.Kind.IN), "amount")
        - _total(movements.filter(kind=CashMovement.Kind.OUT), "amount")
    )
    return Money(expected, currency)


def session_z_report(*, session: TillSession, until: datetime) -> dict[str, Any]:
    """Totals per method, counts of sales and refunds, offline sales, first and last receipt."""
    sales = _sales(session, until)
    per_method = (
        Tender.objects.filter(payment__in=sales)
        .values("method")
        .annotate(total=Sum("captured_amount"))
        .order_by("method")
    )
    refunds = (
        _refunds(session, until)
        .values("tender__method")
        .annotate(total=Sum("amount"))
        .order_by("tender__method")
    )
    counts = sales.aggregate(
        sales=Count("id"), offline=Count("id", filter=Q(offline=True)), total=Sum("captured_amount")
    )
    first, last = sales.first(), sales.last()
    movements = CashMovement.objects.filter(session=session)
    return {
        "sales_count": counts["sales"],
        "offline_sales_count": counts["offline"],
        "sales_total": str(counts["total"] or Decimal("0.00")),
        "sales_by_method": {row["method"]: str(row["total"]) for row in per_method},
        "refunds_count": _refunds(session, until).values("refund").distinct().count(),
        "refunds_by_method": {row["tender__method"]: str(row["total"]) for row in refunds},
        "cash_in": str(_total(movements.filter(kind=CashMovement.Kind.IN), "amount")),
        "cash_out": str(_total(movements.filter(kind=CashMovement.Kind.OUT), "amount")),
        "first_receipt": _receipt(first),
        "last_receipt": _receipt(last),
    }


def _receipt(payment: Payment | None) -> str | None:
    if payment is None:
        return None
    return payment.external_reference or str(payment.public_id)


def till_session_get(*, terminal_id: int, public_id: str) -> TillSession | None:
    return TillSession.objects.filter(terminal_id=terminal_id, public_id=public_id).first()


def offline_allowances_active(*, terminal_id: int) -> list[OfflineAllowance]:
    return list(
        OfflineAllowance.objects.filter(
            terminal_id=terminal_id, status=OfflineAllowance.Status.ACTIVE
        ).order_by("pk")
    )
