"""A recompute and a close (or reconcile) of the same row, in two threads on two PostgreSQL
connections: the recompute is paused after it has read the row, the close runs meanwhile."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from reconciliation.models import Settlement
from reconciliation.services import compute as compute_module
from reconciliation.services import settlement_close, settlement_compute, settlement_reconcile
from tests.reconciliation.conftest import Day, day_ended

ACTOR = "user:clerk"


def _in_thread(work: Callable[[], Any], errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            work()
        except BaseException as error:  # reported to the test, which fails on it
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _race(day: Day, monkeypatch, act: Callable[[Settlement], Any]) -> tuple[Settlement, bool]:
    """Recompute the web row, pausing it mid-way while `act` runs on it; whether `act` had
    to wait for the recompute, and the row at the end."""
    day = day_ended(day)

    def compute() -> list[Settlement]:
        return settlement_compute(
            merchant=day.shop.merchant,
            store=None,
            business_day=day.business_day,
            match_stripe=False,
        )

    (web,) = compute()
    reached, go = threading.Event(), threading.Event()
    real = compute_module.cash_figures

    def cash_figures(*args: Any) -> None:
        if threading.get_ident() == paused_in[0]:
            reached.set()
            assert go.wait(10)
        real(*args)

    paused_in: list[int] = []
    monkeypatch.setattr(compute_module, "cash_figures", cash_figures)
    errors: list[BaseException] = []

    def recompute() -> None:
        paused_in.append(threading.get_ident())
        compute()

    recomputing = _in_thread(recompute, errors)
    assert reached.wait(10)
    acting = _in_thread(lambda: act(web), errors)
    acting.join(1)
    waited = acting.is_alive()
    go.set()
    recomputing.join(10)
    acting.join(10)
    assert not errors, errors
    web.refresh_from_db()
    return web, waited


@pytest.mark.django_db(transaction=True)
def test_a_close_during_a_recompute_is_kept(day: Day, monkeypatch) -> None:
    web, waited = _race(day, monkeypatch, lambda row: settlement_close(settlement=row, actor=ACTOR))
    assert (web.status, web.closed_by) == (Settlement.Status.CLOSED, ACTOR)
    assert waited  # the close took its turn after the recompute


@pytest.mark.django_db(transaction=True)
def test_a_reconcile_during_a_recompute_neither_fails_nor_is_undone(day: Day, monkeypatch) -> None:
    web, waited = _race(
        day,
        monkeypatch,
        lambda row: settlement_reconcile(settlement=row, actor=ACTOR, reason="checked"),
    )
    assert web.is_locked
    assert web.accepted_by == ACTOR
    assert waited
