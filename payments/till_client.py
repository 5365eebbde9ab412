"""The till's client for Kassa's REST API, built for a flaky store network.

Every call that moves money carries an Idempotency-Key generated once per operation; a time-out,
a dropped connection, a 5xx or a 409 `request_in_progress` is retried with the SAME key, so the
sale happens once however often the network fails, and the till always ends up with the one
true outcome. Refusals (4xx) are raised at once as `KassaApiError` with Kassa's stable code, and
so is any error answer Kassa replays for the key (e.g. the 503 of a sale that failed as a whole
because Stripe was down): it is the recorded outcome, which further retries would only repeat.

    till = TillClient("https://kassa.example.com", api_key="kassa_t_…")
    customer = till.identify([{"kind": "loyalty_card", "value": "2000000000008"}])
    sale = till.sale(
        amount=("42.50", "EUR"),
        customer=customer["customer"],
        tenders=[{"method": "gift_card", "code": "…", "pin": "1234"}, {"method": "cash"}],
    )

It depends on httpx only (not on Django), so a till can vendor this one file.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

RETRYABLE_STATUS = frozenset({409, 502, 503, 504})
REPLAYED = "Idempotent-Replayed"
# Failures that happen before a connection exists: the request never left the till.
NOT_CONNECTED = (httpx.ConnectError, httpx.ConnectTimeout)


class KassaApiError(Exception):
    """A refusal from Kassa: `code` is stable, `body` is the full error document."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body
        self.code = str(body.get("code", "error"))
        self.detail = str(body.get("detail", ""))
        super().__init__(f"{status} {self.code}: {self.detail}")


class KassaUnreachable(Exception):
    """Every retry failed to get an answer; the operation's outcome is unknown to the till.

    Retrying later with the same `idempotency_key` (kept on this exception) is always safe.
    `maybe_delivered` is False only when no attempt ever connected: the server cannot have
    seen the request, so the till may still change it (e.g. mark a sale as made offline).
    """

    def __init__(
        self,
        idempotency_key: str | None,
        cause: BaseException | None,
        *,
        maybe_delivered: bool = True,
    ) -> None:
        self.idempotency_key = idempotency_key
        self.maybe_delivered = maybe_delivered
        super().__init__(f"Kassa did not answer (idempotency key {idempotency_key}): {cause}")


def money(amount: str | tuple[str, str], currency: str = "EUR") -> dict[str, str]:
    if isinstance(amount, tuple):
        amount, currency = amount
    return {"amount": str(amount), "currency": currency}


@dataclass
class TillClient:
    base_url: str
    api_key: str
    timeout: float = 10.0
    attempts: int = 5
    backoff: float = 0.2
    sleep: Callable[[float], None] = time.sleep
    transport: httpx.BaseTransport | None = None
    _http: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._http = httpx.Client(
            base_url=self.base_url.rstrip("/") + "/api/v1/",
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=self.timeout,
            transport=self.transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TillClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the calls a till makes -------------------------------------------------------------

    def whoami(self) -> dict[str, Any]:
        return self._request("GET", "me")

    def identify(self, identifiers: list[dict[str, str]], *, create: bool = True) -> dict[str, Any]:
        return self._request(
            "POST",
            "customers/identify",
            json={"identifiers": identifiers, "channel": "pos", "create": create},
            idempotency_key=str(uuid.uuid4()),
        )

    def presentation_code_send(self, customer: str, *, via: str = "email") -> dict[str, Any]:
        """Send the customer a one-time code on their verified email or phone (`via`)."""
        return self._request("POST", f"customers/{customer}/presentation-codes", json={"via": via})

    def presentation_code_verify(self, customer: str, code: str) -> dict[str, Any]:
        """The code the customer read out: this till may then spend their whole wallet."""
        return self._request(
            "POST", f"customers/{customer}/presentation-codes/verify", json={"code": code}
        )

    def wallet(self, customer: str) -> dict[str, Any]:
        return self._request("GET", f"customers/{customer}/wallet")

    def sale(
        self,
        *,
        amount: str | tuple[str, str],
        tenders: list[dict[str, Any]],
        customer: str | None = None,
        currency: str = "EUR",
        reference: str = "",
        basket: list[dict[str, Any]] | None = None,
        capture: bool = True,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        body = sale_body(
            amount=amount,
            tenders=tenders,
            customer=customer,
            currency=currency,
            reference=reference,
            basket=basket,
            capture=capture,
        )
        return self.post("payments", body, idempotency_key=idempotency_key or str(uuid.uuid4()))

    def post(self, path: str, body: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Any money-moving POST, e.g. a sale replayed from the till's journal as it was."""
        return self._request("POST", path, json=body, idempotency_key=idempotency_key)

    def gift_card_balance(self, code: str, pin: str | None = None) -> dict[str, Any]:
        body = {"code": code, **({"pin": pin} if pin else {})}
        return self._request("POST", "gift-cards/balance", json=body)

    def offline_policy(self) -> dict[str, Any]:
        return self._request("GET", "tills/offline-policy")

    def payment(self, payment_id: str) -> dict[str, Any]:
        return self._request("GET", f"payments/{payment_id}")

    def capture(
        self,
        payment_id: str,
        *,
        amount: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        body = {"amount": amount} if amount else {}
        return self._request(
            "POST",
            f"payments/{payment_id}/capture",
            json=body,
            idempotency_key=idempotency_key or str(uuid.uuid4()),
        )

    def void(self, payment_id: str, *, idempotency_key: str | None = None) -> dict[str, Any]:
        return self._request(
            "POST",
            f"payments/{payment_id}/void",
            json={},
            idempotency_key=idempotency_key or str(uuid.uuid4()),
        )

    def refund(
        self,
        payment_id: str,
        *,
        amount: dict[str, str],
        policy: str = "reverse",
        allocations: list[dict[str, Any]] | None = None,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"amount": amount, "policy": policy, "reason": reason}
        if allocations:
            body["allocations"] = allocations
        return self._request(
            "POST",
            f"payments/{payment_id}/refunds",
            json=body,
            idempotency_key=idempotency_key or str(uuid.uuid4()),
        )

    # -- transport ----------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        last_error: BaseException | None = None
        connected = False
        for attempt in range(self.attempts):
            if attempt:
                self.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self._http.request(method, path, json=json, headers=headers)
            except httpx.TransportError as error:  # time-out, refused, reset, dropped
                connected = connected or not isinstance(error, NOT_CONNECTED)
                last_error = error
                continue
            connected = True
            if response.status_code >= 400 and response.headers.get(REPLAYED) == "true":
                # The answer Kassa recorded for this key: every further retry replays it.
                raise KassaApiError(response.status_code, _body(response))
            if response.status_code in RETRYABLE_STATUS or response.status_code >= 500:
                last_error = KassaApiError(response.status_code, _body(response))
                if response.status_code == 409 and last_error.code != "request_in_progress":
                    raise last_error
                continue
            if response.status_code >= 400:
                raise KassaApiError(response.status_code, _body(response))
            return {} if response.status_code == 204 else dict(response.json())
        raise KassaUnreachable(idempotency_key, last_error, maybe_delivered=connected)


def sale_body(
    *,
    amount: str | tuple[str, str],
    tenders: list[dict[str, Any]],
    customer: str | None = None,
    currency: str = "EUR",
    reference: str = "",
    basket: list[dict[str, Any]] | None = None,
    capture: bool = True,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "amount": money(amount, currency),
        "tenders": tenders,
        "capture": capture,
    }
    if reference:  # the API refuses a blank reference: no receipt number, no field
        body["external_reference"] = reference
    if customer:
        body["customer"] = customer
    if basket:
        body["basket"] = basket
    return body


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {"code": "http_error", "detail": response.text[:200]}
    return data if isinstance(data, dict) else {"code": "http_error", "detail": str(data)[:200]}
