"""The shipped till client against a live server, directly and through a flaky network: a TCP
proxy that lets a request reach the server but drops the connection before the answer."""

import contextlib
import re
import socket
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.core import mail

from config.embedded import free_port
from merchants.models import ApiKey
from merchants.services import api_key_issue
from payments.models import Payment
from payments.till_client import KassaApiError, KassaUnreachable, TillClient
from tests.customers.factories import IdentifierFactory, LoyaltyCardFactory
from tests.payments.conftest import Shop, available
from tests.payments.conftest import money as eur_json

pytestmark = pytest.mark.django_db(transaction=True)

SOCKET_TIMEOUT = 10.0


class FlakyProxy:
    """A loopback TCP proxy in front of the live server.

    Each accepted connection gets its own upstream connection and two pump threads. While drops
    are armed, the first bytes of the server's next answer are not passed on: the proxy closes
    both sides instead, so the server has done the work and the till never hears of it.
    Everything is bounded: sockets time out, threads are daemons, `close` joins them.
    """

    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        assert parts.hostname is not None
        assert parts.port is not None
        self.upstream = (parts.hostname, parts.port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = 0
        self.dropped = 0
        self._drops_armed = 0
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._spawn(self._accept)

    def drop_responses(self, count: int = 1) -> None:
        with self._lock:
            self._drops_armed = count

    def close(self) -> None:
        self._closing.set()
        with self._lock:
            sockets = list(self._sockets)
        for sock in [self.listener, *sockets]:
            _hang_up(sock)
        for thread in self._threads:
            thread.join(timeout=SOCKET_TIMEOUT)
        assert not any(thread.is_alive() for thread in self._threads), "proxy threads hang"

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(self.upstream, timeout=SOCKET_TIMEOUT)
            client.settimeout(SOCKET_TIMEOUT)
            with self._lock:
                self.connections += 1
                self._sockets += [client, upstream]
            self._spawn(self._pump, client, upstream, False)
            self._spawn(self._pump, upstream, client, True)

    def _take_drop(self) -> bool:
        with self._lock:
            if self._drops_armed == 0:
                return False
            self._drops_armed -= 1
            self.dropped += 1
            return True

    def _pump(self, source: socket.socket, sink: socket.socket, answers: bool) -> None:
        try:
            while chunk := source.recv(65536):
                if answers and self._take_drop():
                    break  # the answer exists, the till never gets it
                sink.sendall(chunk)
        except OSError:
            pass  # the other pump (or close) shut the connection
        finally:
            _hang_up(source)
            _hang_up(sink)


def _hang_up(sock: socket.socket) -> None:
    """Shut down first: that wakes a thread blocked in recv, which close alone does not."""
    with contextlib.suppress(OSError):  # never connected, or already shut
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@pytest.fixture
def proxy(live_server) -> Iterator[FlakyProxy]:
    flaky = FlakyProxy(live_server.url)
    yield flaky
    flaky.close()


@pytest.fixture
def new_till_key(shop: Shop) -> str:
    """A till key that has not identified anyone yet: the wallet is reachable only after
    identification records its access grant."""
    _, raw = api_key_issue(
        merchant=shop.merchant, scope=ApiKey.Scope.TERMINAL, name="till 2", terminal=shop.till
    )
    return raw


def till_for(url: str, api_key: str, pauses: list[float]) -> TillClient:
    return TillClient(url, api_key=api_key, attempts=3, timeout=SOCKET_TIMEOUT, sleep=pauses.append)


def test_identify_wallet_and_a_sale_through_the_client(
    live_server, shop: Shop, new_till_key: str, invariants
) -> None:
    card = LoyaltyCardFactory.create(customer=shop.customer, merchant=shop.merchant)
    IdentifierFactory.create(
        customer=shop.customer, kind="email", value="ada@example.com", verified=True
    )
    pauses: list[float] = []
    with till_for(live_server.url, new_till_key, pauses) as till:
        with pytest.raises(KassaApiError) as refused:
            till.wallet(str(shop.customer.public_id))
        assert (refused.value.status, refused.value.code) == (404, "customer_not_found")

        identified = till.identify(
            [{"kind": "loyalty_card", "value": card.value, "presentation": "scanned"}]
        )
        assert identified["customer"] == str(shop.customer.public_id)
        assert (identified["outcome"], identified["strength"]) == ("matched", "loyalty")
        with pytest.raises(KassaApiError) as too_weak:
            till.wallet(identified["customer"])
        assert (too_weak.value.status, too_weak.value.code) == (
            403,
            "strong_presentation_required",
        )

        sent = till.presentation_code_send(identified["customer"], via="email")
        assert sent["sent_to"] != "ada@example.com"
        code = re.search(r"\b(\d{6})\b", str(mail.outbox[-1].body))
        assert code is not None
        verified = till.presentation_code_verify(identified["customer"], code.group(1))
        assert verified["strength"] == "wallet"

        wallet = till.wallet(identified["customer"])
        assert [g["id"] for g in wallet["gift_cards"]] == [str(shop.gift_card.public_id)]
        assert wallet["gift_cards"][0]["available"] == eur_json("50.00")
        assert len(wallet["loyalty_accounts"]) == 1

        sale = till.sale(
            amount=("62.50", "EUR"),
            customer=identified["customer"],
            reference="till-receipt-1",
            tenders=[
                {"method": "gift_card", "gift_card": str(shop.gift_card.public_id)},
                {"method": "cash"},
            ],
        )
    assert sale["status"] == "captured"
    assert [(t["method"], t["captured_amount"]) for t in sale["tenders"]] == [
        ("gift_card", eur_json("50.00")),
        ("cash", eur_json("12.50")),
    ]
    assert Payment.objects.get().external_reference == "till-receipt-1"
    assert pauses == [], "nothing was retried"
    invariants()


def test_a_refusal_raises_at_once_with_its_code(live_server, shop: Shop, new_till_key) -> None:
    pauses: list[float] = []
    with till_for(live_server.url, new_till_key, pauses) as till:
        with pytest.raises(KassaApiError) as wrong_pin:
            till.sale(
                amount=("10.00", "EUR"),
                tenders=[{"method": "gift_card", "code": shop.gift_card_code, "pin": "0000"}],
            )
        with pytest.raises(KassaApiError) as short:
            till.sale(
                amount=("10.00", "EUR"),
                tenders=[{"method": "cash", "amount": eur_json("9.99")}],
            )
    assert (wrong_pin.value.status, wrong_pin.value.code) == (404, "code_not_recognised")
    assert (short.value.status, short.value.code) == (422, "tender_sum_mismatch")
    assert short.value.body["meta"]
    assert pauses == [], "a refusal is final: no retry"
    assert not Payment.objects.exists()


def test_a_lost_answer_is_retried_with_the_same_key_and_pays_once(
    proxy: FlakyProxy, shop: Shop, new_till_key: str, invariants
) -> None:
    card = LoyaltyCardFactory.create(customer=shop.customer, merchant=shop.merchant)
    pauses: list[float] = []
    with till_for(proxy.url, new_till_key, pauses) as till:
        customer = till.identify([{"kind": "loyalty_card", "value": card.value}])["customer"]
        proxy.drop_responses(1)
        sale = till.sale(
            amount=("62.50", "EUR"),
            customer=customer,
            tenders=[
                {"method": "gift_card", "code": shop.gift_card_code, "pin": "4321"},
                {"method": "cash"},
            ],
        )
        assert proxy.dropped == 1, "the first answer was lost on the way"
        assert pauses == [0.2], "one retry"
        payment = Payment.objects.get()
        assert sale["id"] == str(payment.public_id)
        assert sale["status"] == "captured"
        assert till.payment(sale["id"])["id"] == sale["id"], "the proxy behaves again"
    assert available(shop.gift_card) == Decimal("0.00"), "the gift card paid once"
    invariants()


def test_an_unreachable_server_keeps_the_key_for_a_later_retry(
    proxy: FlakyProxy, shop: Shop, new_till_key: str, invariants
) -> None:
    pauses: list[float] = []
    tenders = [{"method": "gift_card", "code": shop.gift_card_code, "pin": "4321"}]
    with till_for(proxy.url, new_till_key, pauses) as till:
        proxy.drop_responses(3)
        with pytest.raises(KassaUnreachable) as unreachable:
            till.sale(amount=("20.00", "EUR"), tenders=tenders)
        assert proxy.dropped == 3
        assert Payment.objects.count() == 1, "the sale happened although the till never heard"
        key = unreachable.value.idempotency_key
        assert key

        later = till.sale(amount=("20.00", "EUR"), tenders=tenders, idempotency_key=key)
    assert later["id"] == str(Payment.objects.get().public_id)
    assert later["status"] == "captured"
    assert available(shop.gift_card) == Decimal("30.00")
    invariants()


def test_a_failure_kassa_recorded_is_final_not_unreachable(
    live_server, shop: Shop, new_till_key: str, settings, invariants
) -> None:
    """Stripe is down: the sale fails as a whole (503 `card_processor_unavailable`). A retry with
    the same key only replays that recorded answer, so the till gets it as a refusal naming the
    failed payment, not as "Kassa did not answer"."""
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"
    pauses: list[float] = []
    till = till_for(live_server.url, new_till_key, pauses)
    with till, pytest.raises(KassaApiError) as failed:
        till.sale(
            amount=("20.00", "EUR"),
            tenders=[
                {"method": "cash", "amount": eur_json("5.00")},
                {"method": "card", "payment_method": "pm_card_visa"},
            ],
        )
    assert (failed.value.status, failed.value.code) == (503, "card_processor_unavailable")
    payment = Payment.objects.get()
    assert failed.value.body["meta"] == {"payment": str(payment.public_id)}
    assert payment.status == Payment.Status.FAILED
    assert pauses == [0.2], "one retry, answered by the replay"
    invariants()
