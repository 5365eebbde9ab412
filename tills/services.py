"""Till sessions: open with a float, move cash in and out, close with the counted cash.

Each write locks the session row, then checks (lock then check): a cash-out and a close racing
on one drawer see each other's effect.
"""

from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from moneyed import Money

from config.actors import api_key_actor
from merchants.authentication import api_key_cached
from merchants.models import ApiKey
from tills.errors import (
    CashOutExceedsDrawer,
    CurrencyMismatch,
    TillSessionAlreadyOpen,
    TillSessionClosed,
    TillSessionNotFound,
    VarianceNeedsStaff,
)
from tills.models import CashMovement, TillSession
from tills.selectors import session_expected_cash, session_z_report

DEFAULT_VARIANCE_LIMIT = "5.00"


def variance_limit() -> Decimal:
    return Decimal(getattr(settings, "KASSA_TILL_VARIANCE_LIMIT", DEFAULT_VARIANCE_LIMIT))


def till_session_open(*, api_key: ApiKey, float_amount: Money) -> TillSession:
    assert api_key.terminal_id is not None
    try:
        with transaction.atomic():
            return TillSession.objects.create(
                terminal_id=api_key.terminal_id,
                api_key=api_key,
                float_amount=float_amount,
                opened_by=api_key_actor(api_key),
            )
    except IntegrityError as error:  # the one-open-session-per-terminal constraint
        raise TillSessionAlreadyOpen() from error


def _lock_open(api_key: ApiKey, public_id: str, amount: Money) -> TillSession:
    assert api_key.terminal_id is not None  # the views take terminal keys only
    session = (
        TillSession.objects.select_for_update()
        .filter(terminal_id=api_key.terminal_id, public_id=public_id)
        .first()
    )
    if session is None:
        raise TillSessionNotFound()
    if session.status != TillSession.Status.OPEN:
        raise TillSessionClosed()
    if amount.currency != session.float_amount.currency:
        raise CurrencyMismatch(field="amount")
    return session


@transaction.atomic
def till_cash_move(
    *,
    api_key: ApiKey,
    session_id: str,
    kind: str,
    amount: Money,
    reason: str,
    idempotency_key: str,
) -> CashMovement:
    """Cash into or out of the drawer; taking out more than it should hold is refused."""
    session = _lock_open(api_key, session_id, amount)
    if kind == CashMovement.Kind.OUT:
        expected = session_expected_cash(session=session, until=timezone.now())
        if amount > expected:
            raise CashOutExceedsDrawer(
                f"The drawer should hold {expected}; {amount} cannot be taken out.",
                field="amount",
            )
    return CashMovement.objects.create(
        session=session,
        kind=kind,
        amount=amount,
        reason=reason,
        actor=api_key_actor(api_key),
        idempotency_key=idempotency_key,
    )


def _staff_actor(api_key: ApiKey, staff_key: str) -> str | None:
    staff = api_key_cached(raw_key=staff_key) if staff_key else None
    if (
        staff is None
        or staff.scope != ApiKey.Scope.STAFF
        or staff.merchant_id != api_key.merchant_id
    ):
        return None
    return api_key_actor(staff)


@transaction.atomic
def till_session_close(
    *,
    api_key: ApiKey,
    session_id: str,
    counted: Money,
    staff_key: str = "",
    external_card_declared: Money | None = None,
) -> TillSession:
    """Count the drawer: expected cash, variance and the Z report, fixed once."""
    session = _lock_open(api_key, session_id, counted)
    now = timezone.now()
    expected = session_expected_cash(session=session, until=now)
    variance = counted - expected
    accepted_by = ""
    if abs(variance.amount) > variance_limit():
        accepted_by = _staff_actor(api_key, staff_key) or ""
        if not accepted_by:
            raise VarianceNeedsStaff(
                f"Counted {counted}, expected {expected}: a variance of {variance}.",
                meta={"expected": str(expected.amount), "variance": str(variance.amount)},
            )
    session.status = TillSession.Status.CLOSED
    session.closed_at = now
    session.closed_by = api_key_actor(api_key)
    session.counted_amount = counted
    session.expected_amount = expected
    session.variance_amount = variance
    session.variance_accepted_by = accepted_by
    if external_card_declared is not None:
        if external_card_declared.currency != counted.currency:
            raise CurrencyMismatch(field="external_card_declared")
        session.external_card_declared = external_card_declared
    session.z_report = {
        **session_z_report(session=session, until=now),
        "closed_by": session.closed_by,
    }
    session.save()
    return session
