"""Property-based: random sequences of issue / reload / hold / post / void / refund / expire /
adjust. After every step the ledger checks out (balances = sums of entries, every transfer
sums to zero, nothing negative), every card matches a plain-Python model of it, and so does the
stored-value liability report."""

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)
from moneyed import Money

from config.errors import KassaError
from tests.factories import MerchantFactory
from tests.wallet.factories import ACTOR
from wallet.ledger import ledger_verify
from wallet.liability import liability_as_of
from wallet.models import GiftCard, Transfer
from wallet.services import (
    gift_card_expire,
    gift_card_hold,
    gift_card_issue,
    gift_card_post,
    gift_card_refund,
    gift_card_reload,
    gift_card_void,
    instrument_adjust,
)

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("80"), places=2)
bad_amounts = st.sampled_from([Decimal(0), Decimal("-1.00"), Decimal("0.001"), Decimal("1.005")])


@dataclass
class Card:
    gift_card: GiftCard
    balance: Decimal
    held: Decimal = Decimal(0)
    expired: bool = False


@dataclass
class Hold:
    card: Card
    transfer: Transfer
    amount: Decimal


@dataclass
class Posted:
    card: Card
    transfer: Transfer
    reversible: Decimal


def _eur(amount: Decimal) -> Money:
    return Money(amount, "EUR")


class LedgerMachine(RuleBasedStateMachine):
    cards = Bundle("cards")
    holds = Bundle("holds")
    posted = Bundle("posted")

    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.merchant = MerchantFactory.create()
        self.all_cards: list[Card] = []

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _refused(self, call, code: str | None = None) -> None:
        """A refusal is a coded error and leaves the ledger exactly as it was."""
        before = Transfer.objects.count()
        with pytest.raises(KassaError) as refused:
            call()
        if code is not None:
            assert refused.value.code == code
        assert Transfer.objects.count() == before

    @rule(target=cards, amount=amounts)
    def issue(self, amount: Decimal) -> Card:
        issued = gift_card_issue(merchant=self.merchant, initial_value=_eur(amount), actor=ACTOR)
        card = Card(gift_card=issued.gift_card, balance=amount)
        self.all_cards.append(card)
        return card

    @rule(card=cards, amount=amounts)
    def reload(self, card: Card, amount: Decimal) -> None:
        if card.expired:
            self._refused(
                lambda: gift_card_reload(gift_card=card.gift_card, amount=_eur(amount), actor=ACTOR)
            )
            return
        gift_card_reload(gift_card=card.gift_card, amount=_eur(amount), actor=ACTOR)
        card.balance += amount

    @rule(target=holds, card=cards, amount=amounts)
    def hold(self, card: Card, amount: Decimal) -> Hold | None:
        def take() -> Transfer:
            return gift_card_hold(
                gift_card=card.gift_card,
                amount=_eur(amount),
                reference="p",
                expires_at=None,
                actor=ACTOR,
            )

        if card.expired:
            self._refused(take, "instrument_expired")
            return None
        if amount > card.balance - card.held:
            self._refused(take, "insufficient_funds")
            return None
        transfer = take()
        card.held += amount
        return Hold(card=card, transfer=transfer, amount=amount)

    @rule(card=cards, amount=bad_amounts)
    def bad_hold(self, card: Card, amount: Decimal) -> None:
        self._refused(
            lambda: gift_card_hold(
                gift_card=card.gift_card,
                amount=_eur(amount),
                reference="p",
                expires_at=None,
                actor=ACTOR,
            )
        )

    @rule(target=posted, hold=consumes(holds), share=st.integers(min_value=1, max_value=100))
    def post(self, hold: Hold | None, share: int) -> Posted | None:
        if hold is None:
            return None
        amount = max((hold.amount * share / 100).quantize(Decimal("0.01")), Decimal("0.01"))
        transfer = gift_card_post(transfer=hold.transfer, amount=_eur(amount), actor=ACTOR)
        hold.card.held -= hold.amount
        hold.card.balance -= amount
        self._refused(
            lambda: gift_card_post(transfer=hold.transfer, actor=ACTOR), "hold_not_pending"
        )
        return Posted(card=hold.card, transfer=transfer, reversible=amount)

    @rule(hold=consumes(holds))
    def void(self, hold: Hold | None) -> None:
        if hold is None:
            return
        gift_card_void(transfer=hold.transfer, reason="cancelled", actor=ACTOR)
        hold.card.held -= hold.amount
        self._refused(lambda: gift_card_void(transfer=hold.transfer, reason="again", actor=ACTOR))

    @rule(item=posted, amount=amounts)
    def refund(self, item: Posted | None, amount: Decimal) -> None:
        if item is None:
            return

        def give_back() -> Transfer:
            return gift_card_refund(
                transfer=item.transfer,
                amount=_eur(amount),
                reference="r",
                reason="return",
                actor=ACTOR,
            )

        if amount > item.reversible:
            self._refused(give_back, "amount_exceeds_reversible")
            return
        give_back()
        item.reversible -= amount
        item.card.balance += amount

    @rule(card=cards)
    def expire(self, card: Card) -> None:
        gift_card_expire(gift_card=card.gift_card, actor=ACTOR)
        card.expired = True
        card.balance = card.held  # what a pending hold still holds stays, the rest is breakage

    @rule(card=cards, amount=amounts, credit=st.booleans())
    def adjust(self, card: Card, amount: Decimal, credit: bool) -> None:
        signed = amount if credit else -amount

        def correct() -> Transfer:
            return instrument_adjust(
                account=card.gift_card.account, amount=signed, reason="count", actor=ACTOR
            )

        if not credit and amount > card.balance - card.held:
            self._refused(correct, "insufficient_funds")
            return
        correct()
        card.balance += signed

    @invariant()
    def ledger_checks_out(self) -> None:
        assert ledger_verify() == []

    @invariant()
    def cards_match_the_model(self) -> None:
        for card in self.all_cards:
            account = card.gift_card.account
            account.refresh_from_db()
            assert (account.balance, account.held) == (card.balance, card.held)
            assert account.available >= 0

    @invariant()
    def liability_is_what_the_cards_hold(self) -> None:
        """The stored-value liability report, from entries, agrees with the plain model."""
        if not self.all_cards:
            return
        [liability] = liability_as_of(merchant=self.merchant, day=timezone.localdate())
        assert liability.gift_card_outstanding.amount == sum(c.balance for c in self.all_cards)
        assert liability.gift_card_held.amount == sum(c.held for c in self.all_cards)


@pytest.mark.django_db
def test_random_sequences_keep_the_ledger_consistent() -> None:
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
