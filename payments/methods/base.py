"""The tender-method protocol and its registry: the engine's only door into the wallet.

One class per method (pretix's payment providers, Saleor's gateways): it finds and checks its
instrument (`resolve`), says where the planner puts it (`rank`, `remainder`, `till_only`,
`stored_value`), which presentation strength spending it needs, whether it earns points, and
moves value: `charge` (a hold until `hold_until`, or at once for a sale captured on the spot)
returns ledger moves the engine writes together with every other tender's in one set-based
write (`wallet.ledger.ledger_write`), between the system accounts `systems` names; `locked`
then re-checks under the locks that write took (a gift card blocked meanwhile) and records
what depends on it (a voucher's use, under the voucher's lock); `settle`, `release` and
`refund` act at capture, void and refund. Methods without stored value (card, cash, the
till's terminal) move nothing in the ledger. `register` adds a method; `method_for` finds it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from moneyed import Money

from config.errors import KassaError
from customers.errors import CustomerNotFound, StrongPresentationRequired
from customers.models import Customer, Strength
from customers.selectors import customer_access_strength
from merchants.models import ApiKey
from payments.errors import CustomerRequired, UnknownTenderMethod
from payments.models import RefundAllocation, Tender
from payments.planning import Source
from wallet.ledger import Move
from wallet.models import BankCard, GiftCard, LedgerAccount, LoyaltyAccount, Transfer, Voucher
from wallet.system_accounts import system_account

if TYPE_CHECKING:
    from payments.services.common import PaymentRequest, TenderRequest


@dataclass
class ResolveContext:
    """What resolving one payment's tenders shares: the key, the request, and the customer's
    presentation strength, read once for all tenders."""

    api_key: ApiKey
    request: "PaymentRequest"
    client_ip: str | None
    _strength: Strength | None = None
    _strength_read: bool = False

    def require(self, strength: Strength) -> Customer:
        """The payment's customer, if this key presented them with at least `strength`."""
        customer = self.request.customer
        if customer is None:
            raise CustomerRequired()
        if not self._strength_read:
            self._strength = customer_access_strength(api_key=self.api_key, customer=customer)
            self._strength_read = True
        if self._strength is None:
            raise CustomerNotFound(field="customer")
        if self._strength < strength:
            raise StrongPresentationRequired(
                meta={"required": strength.label, "presented": self._strength.label}
            )
        return customer


@dataclass
class ResolvedTender:
    """A requested tender with its instrument found and checked, ready to plan and bind."""

    source: Source
    request: "TenderRequest"
    gift_card: GiftCard | None = None
    voucher: Voucher | None = None
    loyalty_account: LoyaltyAccount | None = None
    bank_card: BankCard | None = None
    extra: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class ChargeContext:
    merchant_id: int
    customer: Customer | None
    channel: str
    hold_until: datetime | None  # None: charged at once (a sale captured on the spot)
    actor: str
    systems: dict[tuple[str, str], LedgerAccount] = field(default_factory=dict)
    request_index: dict[int, int] = field(default_factory=dict)  # tender sequence -> index

    def field_of(self, tender: Tender, inner: str | None = None) -> str:
        """A refusal's field for `tender`, as the request numbered it (`tenders[i].inner`)."""
        index = self.request_index.get(tender.sequence, tender.sequence - 1)
        return f"tenders[{index}]" + (f".{inner}" if inner else "")

    def system(self, kind: str, unit: str) -> LedgerAccount:
        """The merchant's system account, from those the engine read up front."""
        if (kind, unit) not in self.systems:
            self.systems[(kind, unit)] = system_account(
                merchant_id=self.merchant_id, kind=kind, unit=unit
            )
        return self.systems[(kind, unit)]

    @property
    def at_once(self) -> bool:
        return self.hold_until is None


class TenderMethod:
    """Defaults: a method with nothing to hold (card, cash, terminal) and no instrument."""

    name: ClassVar[str]
    rank: ClassVar[int] = 2
    remainder: ClassVar[bool] = False  # may take "what is left" without an amount
    till_only: ClassVar[bool] = False
    stored_value: ClassVar[bool] = False
    earns_points: ClassVar[bool] = True
    strength: ClassVar[Strength | None] = None  # to spend a stored instrument by id
    authorised_at_stripe: ClassVar[bool] = False

    def resolve(self, ctx: ResolveContext, index: int, tender: "TenderRequest") -> ResolvedTender:
        return ResolvedTender(self.source(ctx, index, tender), tender)

    def source(
        self,
        ctx: ResolveContext,
        index: int,
        tender: "TenderRequest",
        *,
        currency: str | None = None,
        cap: Money | None = None,
        requested: Money | None = None,
    ) -> Source:
        return Source(
            index=index,
            method=tender.method,
            currency=currency or ctx.request.amount.currency.code,
            requested=requested if requested is not None else tender.amount,
            cap=cap,
        )

    def bind(self, tender: Tender, resolved: ResolvedTender) -> None:
        """Copy what the tender row keeps of its instrument."""
        tender.external_reference = resolved.request.reference
        tender.stripe_payment_method_id = resolved.request.payment_method or ""

    def systems(self, tender: Tender) -> list[tuple[str, str]]:
        """The merchant's system accounts (kind, unit) `charge` moves value between, all
        payments' tenders' read in one query up front."""
        return []

    def locks(self, tender: Tender) -> list[int]:
        """The instrument ledger accounts `charge` will move (to lock before the voucher rows)."""
        return []

    def charge(self, tender: Tender, ctx: ChargeContext) -> list[Move]:
        """The ledger moves that take the tender's value (none for external methods)."""
        return []

    def charged(self, tender: Tender, transfers: list[Transfer], ctx: ChargeContext) -> None:
        """Record what `charge`'s moves wrote, once they are written."""
        if transfers:
            tender.wallet_transfer = transfers[0]
        if ctx.at_once:
            tender.status = Tender.Status.CAPTURED
            tender.captured_amount = tender.amount
        elif not self.authorised_at_stripe:
            tender.status = Tender.Status.AUTHORIZED

    def locked(self, tenders: list[Tender], ctx: ChargeContext) -> None:
        """Once the charges are written, under the instrument locks the write took: re-check
        what may have changed since `resolve` and record what the write implies. Called once
        per method with all of the payment's tenders of that method."""

    def settle(self, tender: Tender, *, amount: Money, actor: str) -> None:
        """At capture, a method that writes on its own: post what is captured of its hold
        (nothing captured: release it). Stored-value methods give `settlements` instead."""

    def settlements(
        self, tenders: list[Tender], *, holds: dict[int, Transfer], actor: str
    ) -> list[tuple[Transfer, Decimal | None]]:
        """At capture, for all of the payment's tenders of this method: the holds to post (the
        amount) or void (None), which the engine writes with every other method's in one
        ledger write. `holds`: the tenders' wallet transfers, with their resolutions. By
        default each tender settles on its own (`settle`) and nothing is left to write."""
        for tender in tenders:
            self.settle(tender, amount=tender.captured_amount, actor=actor)
        return []

    def release(self, tender: Tender, *, reason: str, actor: str) -> None:
        """Void the tender's hold or reservation; a no-op when there is none (any more)."""

    def refund(self, allocation: RefundAllocation, *, reason: str, actor: str) -> None:
        """Give a refund's share back to the instrument (card and cash: paid out elsewhere)."""


_REGISTRY: dict[str, TenderMethod] = {}
_M = TypeVar("_M", bound=type[TenderMethod])


def register(cls: _M) -> _M:
    """Class decorator: make `cls` the method of its `name`."""
    _REGISTRY[cls.name] = cls()
    return cls


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def method_for(name: str) -> TenderMethod:
    try:
        return _REGISTRY[name]
    except KeyError as error:
        raise UnknownTenderMethod(meta={"method": name}) from error


def registered() -> list[str]:
    return sorted(_REGISTRY)


def each_error(
    items: list[Any], call: Callable[[int, Any], Any]
) -> tuple[list[Any], list[KassaError]]:
    """Run `call` on every item, collecting coded errors with the item's index as field."""
    results, errors = [], []
    for index, item in enumerate(items):
        try:
            results.append(call(index, item))
        except KassaError as error:
            error.field = f"tenders[{index}]" + (f".{error.field}" if error.field else "")
            errors.append(error)
    return results, errors
