"""The wallet's privacy handler (the customer-data contract, `customers.privacy.contract`).

What it holds on a customer: gift cards claimed or issued to them, loyalty accounts, assigned
vouchers and their uses, saved bank cards and the Stripe Customer behind them. It reads and
moves its own models under row locks, and moves money only through the ledger's public
functions and the wallet's public services:

- export: every instrument with masked codes and its full ledger history (streamed);
- erase: stored value is the customer's money, so an erasure with balance left needs a
  decision. `forfeit` expires each gift card to breakage (`gift_card_expire`) and moves the
  available points to breakage with one ledger transfer per account (`transfer_create`, code
  `breakage`); `keep` leaves the balances on the (now pseudonymous) instruments. Value held by
  a payment in flight is not available and stays with its hold: a void returns it to an
  expired card and the next expiry run sweeps it to breakage. Free text naming the person
  (a gift card's status reason) is redacted. Instruments, transfers and entries stay;
- erase_external (no transaction open): every live saved card is removed (`bank_card_remove`
  detaches it at Stripe) and each Stripe Customer is deleted at Stripe, then forgotten.
  Stripe out of reach raises, and the erasure stays pending until a retry finishes it;
- merge: instrument rows move to the survivor, each table's rows locked in pk order.
"""

from collections.abc import Iterator, Mapping
from contextlib import suppress
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Max, Q

from config.errors import StripeRefused
from config.stripe import stripe_call, stripe_client
from customers.models import Customer
from customers.privacy.contract import (
    CustomerDataHandler,
    ErasureContext,
    Moved,
    privacy_handler_register,
    rows_repoint,
)
from wallet.errors import amount_meta
from wallet.lock_objects import lock_ledger_accounts
from wallet.models import (
    BankCard,
    GiftCard,
    LedgerAccount,
    LoyaltyAccount,
    StripeCustomer,
    Transfer,
    Voucher,
    VoucherRedemption,
)
from wallet.services import bank_card_remove, gift_card_expire
from wallet.system_accounts import system_account
from wallet.transfers import transfer_create

FORFEIT_REASON = "customer erased: stored value forfeited"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _amount(value: Decimal, unit: str) -> dict[str, str]:
    return amount_meta(value, unit)


def _history(account: LedgerAccount) -> Iterator[dict[str, Any]]:
    transfers = (
        Transfer.objects.filter(Q(debit_account=account) | Q(credit_account=account))
        .order_by("created_at", "pk")
        .iterator()
    )
    for transfer in transfers:
        yield {
            "id": str(transfer.public_id),
            "at": _iso(transfer.created_at),
            "kind": transfer.kind,
            "code": transfer.code,
            "direction": "in" if transfer.credit_account_id == account.pk else "out",
            "amount": str(transfer.amount),
            "unit": transfer.unit,
            "reason": transfer.reason,
        }


def _balances(account: LedgerAccount) -> dict[str, str]:
    return {
        "balance": str(account.balance),
        "held": str(account.held),
        "available": str(account.available),
        "unit": account.unit,
    }


class WalletPrivacy(CustomerDataHandler):
    app_label = "wallet"
    order = 10
    references = frozenset(
        {
            ("wallet.giftcard", "customer"),
            ("wallet.loyaltyaccount", "customer"),
            ("wallet.voucher", "customer"),
            ("wallet.voucherredemption", "customer"),
            ("wallet.bankcard", "customer"),
            ("wallet.stripecustomer", "customer"),
        }
    )
    _HOLDINGS = (
        (StripeCustomer, "customer"),
        (BankCard, "customer"),
        (GiftCard, "customer"),
        (LoyaltyAccount, "customer"),
        (Voucher, "customer"),
        (VoucherRedemption, "customer"),
    )

    def export(self, *, customer: Customer) -> Mapping[str, Any]:
        return {
            "gift_cards": (
                {
                    "id": str(card.public_id),
                    "code": f"…{card.code_last4}",
                    "currency": card.currency,
                    "status": card.status,
                    "expires_at": _iso(card.expires_at),
                    "issued_at": _iso(card.issued_at),
                    **_balances(card.account),
                    "ledger": _history(card.account),
                }
                for card in customer.gift_cards.select_related("account").order_by("pk")
            ),
            "loyalty_accounts": (
                {
                    "id": str(loyalty.public_id),
                    "programme": loyalty.programme.name,
                    "closed_at": _iso(loyalty.closed_at),
                    **_balances(loyalty.account),
                    "lots": [
                        {"points": lot.points, "expires_at": _iso(lot.expires_at)}
                        for lot in loyalty.lots.order_by("pk")
                    ],
                    "ledger": _history(loyalty.account),
                }
                for loyalty in customer.loyalty_accounts.select_related(
                    "account", "programme"
                ).order_by("pk")
            ),
            "vouchers": [
                {
                    "id": str(voucher.public_id),
                    "code": f"…{voucher.code_last4}",
                    "kind": voucher.kind,
                    "currency": voucher.currency,
                    "amount": None if voucher.amount is None else str(voucher.amount),
                    "percent": None if voucher.percent is None else str(voucher.percent),
                    "status": voucher.status,
                    "valid_until": _iso(voucher.valid_until),
                }
                for voucher in Voucher.objects.filter(customer=customer).order_by("pk")
            ],
            "voucher_uses": [
                {
                    "voucher": f"…{use.voucher.code_last4}",
                    "amount": str(use.amount),
                    "status": use.status,
                    "created_at": _iso(use.created_at),
                }
                for use in VoucherRedemption.objects.filter(customer=customer)
                .select_related("voucher")
                .order_by("pk")
            ],
            "saved_cards": [
                {
                    "id": str(card.public_id),
                    "brand": card.brand,
                    "last4": card.last4,
                    "exp_month": card.exp_month,
                    "exp_year": card.exp_year,
                    "saved_at": _iso(card.created_at),
                    "removed_at": _iso(card.removed_at),
                }
                for card in customer.bank_cards.order_by("pk")
            ],
        }

    def stored_value(self, *, customer: Customer) -> list[dict[str, Any]]:
        held: list[dict[str, Any]] = []
        for card in customer.gift_cards.select_related("account").order_by("pk"):
            if card.account.available > 0:
                held.append(
                    {
                        "instrument": "gift_card",
                        "id": str(card.public_id),
                        "code": f"…{card.code_last4}",
                        **_amount(card.account.available, card.currency),
                    }
                )
        for loyalty in customer.loyalty_accounts.select_related("account").order_by("pk"):
            if loyalty.account.available > 0:
                held.append(
                    {
                        "instrument": "loyalty_points",
                        "id": str(loyalty.public_id),
                        **_amount(loyalty.account.available, loyalty.account.unit),
                    }
                )
        return held

    def erase(self, *, context: ErasureContext) -> dict[str, Any]:
        customer = context.customer
        cards = list(customer.gift_cards.order_by("pk"))
        accounts = list(customer.loyalty_accounts.select_related("programme").order_by("pk"))
        # One lock order for every instrument account: the ledger's (pk).
        lock_ledger_accounts([c.account_id for c in cards] + [a.account_id for a in accounts])
        forfeited: list[dict[str, str]] = []
        if context.stored_value == "forfeit":
            for card in cards:
                transfer = gift_card_expire(
                    gift_card=card, actor=context.actor, reason=FORFEIT_REASON
                )
                if transfer is not None:
                    forfeited.append(_amount(transfer.amount, transfer.unit))
            for loyalty in accounts:
                transfer = self._forfeit_points(loyalty, actor=context.actor)
                if transfer is not None:
                    forfeited.append(_amount(transfer.amount, transfer.unit))
        redacted = 0
        for card in GiftCard.objects.filter(customer=customer).order_by("pk"):
            if context.mentions(card.status_reason):
                GiftCard.objects.filter(pk=card.pk).update(
                    status_reason=context.redact(card.status_reason)
                )
                redacted += 1
        return {
            "gift_cards": len(cards),
            "loyalty_accounts": len(accounts),
            "stored_value": context.stored_value or "none",
            "forfeited": forfeited,
            "texts_redacted": redacted,
        }

    @staticmethod
    def _forfeit_points(loyalty: LoyaltyAccount, *, actor: str) -> Transfer | None:
        ledger = lock_ledger_accounts([loyalty.account_id])[loyalty.account_id]
        if ledger.available <= 0:
            return None
        unit = loyalty.programme.unit
        return transfer_create(
            debit=ledger,
            credit=system_account(
                merchant_id=loyalty.programme.merchant_id,
                kind=LedgerAccount.Kind.BREAKAGE,
                unit=unit,
            ),
            amount=ledger.available,
            unit=unit,
            code=Transfer.Code.BREAKAGE,
            reason=FORFEIT_REASON,
            actor=actor,
        )

    def erase_external(self, *, customer: Customer) -> dict[str, Any]:
        removed = 0
        for card in BankCard.objects.filter(customer=customer, removed_at__isnull=True).order_by(
            "pk"
        ):
            bank_card_remove(bank_card=card)
            removed += 1
        deleted = 0
        for stripe_customer in StripeCustomer.objects.filter(customer=customer).order_by("pk"):
            # Refused: already deleted (a previous attempt failed after Stripe's answer).
            with suppress(StripeRefused):
                stripe_call(stripe_client().v1.customers.delete, stripe_customer.stripe_id)
            StripeCustomer.objects.filter(pk=stripe_customer.pk).delete()
            deleted += 1
        return {"saved_cards_detached": removed, "stripe_customers_deleted": deleted}

    def merge(self, *, absorbed: Customer, survivor: Customer) -> list[Moved]:
        moved = []
        for model, field in self._HOLDINGS:
            move = rows_repoint(model, field, old=absorbed.pk, new=survivor.pk)
            if move is not None:
                moved.append(move)
        return moved

    def last_activity(self, *, customer: Customer) -> datetime | None:
        accounts = [
            *customer.gift_cards.values_list("account_id", flat=True),
            *customer.loyalty_accounts.values_list("account_id", flat=True),
        ]
        latest: datetime | None = Transfer.objects.filter(
            Q(debit_account_id__in=accounts) | Q(credit_account_id__in=accounts)
        ).aggregate(at=Max("created_at"))["at"]
        return latest


privacy_handler_register(WalletPrivacy())
