"""The load generator: concurrent closed-loop clients on one asyncio loop.

Each client runs one checkout after another for a fixed time (a warm-up first, not counted),
so the offered load adapts to the server: throughput is what the server sustains with
`clients` checkouts in flight. A checkout may be more than one request (authorise, then
capture); its latency is the whole sequence. Only checkouts that start inside the measured
window count; in-flight ones finish (bounded by the request time-out) but are dropped.

This process shares the machine's cores with the server; `bench.cpu` measures what the driver
itself costs so the figures can say so. That cost is why the client speaks HTTP/1.1 over
asyncio streams itself rather than through httpx: httpx spent about 3 ms of CPU per request
here, as much as the R2 endpoint itself, which would have capped R2 at the driver's speed.
gunicorn's sync workers close the connection after each response, so each request opens a
connection, sends, and reads to the end.
"""

import asyncio
import itertools
import json
import math
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

REQUEST_TIMEOUT_SECONDS = 30.0


class CheckoutFailed(Exception):
    """A refused checkout, with the API's error code (or `http_<status>`)."""

    def __init__(self, code: str, status: int) -> None:
        super().__init__(code)
        self.code = code
        self.status = status


@dataclass
class RunResult:
    clients: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    started: int = 0  # every checkout attempted, warm-up and tail included

    @property
    def completed(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.completed / self.seconds if self.seconds else 0.0


class TransportError(Exception):
    """No usable HTTP answer (connection refused or reset, time-out, malformed response)."""


def _dechunk(body: bytes) -> bytes:
    out = bytearray()
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2 :]
    return bytes(out)


async def http_post(
    host: str, port: int, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes]:
    """One HTTP/1.1 POST on a fresh connection; returns (status, body)."""
    return await _http("POST", host, port, path, body, headers)


async def http_get(host: str, port: int, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """One HTTP/1.1 GET on a fresh connection; returns (status, body)."""
    return await _http("GET", host, port, path, b"", headers)


async def _http(
    method: str, host: str, port: int, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            "Connection: close",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        raw = await reader.read()
    finally:
        writer.close()
    head, separator, payload = raw.partition(b"\r\n\r\n")
    if not separator or not head.startswith(b"HTTP/1."):
        raise TransportError("malformed response")
    status = int(head[9:12])
    if b"transfer-encoding: chunked" in head.lower():
        payload = _dechunk(payload)
    return status, payload


class Session:
    """One client's connection settings; `post` raises `CheckoutFailed` on any non-2xx answer."""

    def __init__(self, base_url: str, index: int) -> None:
        url = urlsplit(base_url)
        self.host = url.hostname or "127.0.0.1"
        self.port = url.port or 80
        self.index = index
        self.sequence = itertools.count()

    async def post(
        self, path: str, body: dict[str, Any], *, key: str | None = None, idempotent: bool = True
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        if idempotent:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        return await self._answer(
            http_post(self.host, self.port, path, json.dumps(body).encode(), headers)
        )

    async def get(self, path: str, *, key: str) -> dict[str, Any]:
        """A GET; raises `CheckoutFailed` on any non-2xx answer, like `post`."""
        headers = {"Authorization": f"Bearer {key}"}
        return await self._answer(http_get(self.host, self.port, path, headers))

    async def _answer(self, request: Awaitable[tuple[int, bytes]]) -> dict[str, Any]:
        try:
            status, payload = await asyncio.wait_for(request, REQUEST_TIMEOUT_SECONDS)
        except (OSError, TimeoutError) as error:
            raise TransportError(type(error).__name__) from error
        try:
            answer = json.loads(payload) if payload else {}
        except ValueError as error:
            raise TransportError(f"http_{status}_not_json") from error
        if status >= 300:
            code = answer.get("code") if isinstance(answer, dict) else None
            raise CheckoutFailed(str(code or f"http_{status}"), status)
        result: dict[str, Any] = answer
        return result


Checkout = Callable[[Session, int], Awaitable[None]]


@dataclass
class _Window:
    """The measured window's edges on `time.perf_counter`, set when they are reached."""

    start: float = math.inf
    end: float = math.inf


async def _client(session: Session, checkout: Checkout, result: RunResult, window: _Window) -> None:
    while (started_at := time.perf_counter()) < window.end:
        n = next(session.sequence)
        result.started += 1
        try:
            await checkout(session, n)
        except CheckoutFailed as failure:
            if started_at >= window.start:
                result.errors[failure.code] += 1
            continue
        except TransportError as error:
            if started_at >= window.start:
                result.errors[str(error)] += 1
            continue
        if started_at >= window.start:
            result.latencies.append(time.perf_counter() - started_at)


Mark = Callable[[str], None]


def _no_mark(_: str) -> None:
    return None


async def _edges(window: _Window, *, warmup: float, seconds: float, mark: Mark) -> None:
    await asyncio.sleep(warmup)
    mark("start")
    window.start = time.perf_counter()
    await asyncio.sleep(seconds)
    window.end = time.perf_counter()
    mark("end")


async def _drive(
    base_url: str,
    checkout: Checkout,
    *,
    clients: int,
    seconds: float,
    warmup: float,
    mark: Mark,
) -> RunResult:
    result = RunResult(clients=clients, seconds=seconds)
    window = _Window()
    await asyncio.gather(
        _edges(window, warmup=warmup, seconds=seconds, mark=mark),
        *(_client(Session(base_url, i), checkout, result, window) for i in range(clients)),
    )
    result.seconds = window.end - window.start
    return result


def drive(
    base_url: str,
    checkout: Checkout,
    *,
    clients: int,
    seconds: float,
    warmup: float,
    mark: Mark = _no_mark,
) -> RunResult:
    """Run `clients` closed-loop clients for `warmup` + `seconds`; figures cover `seconds`.

    `mark("start")` and `mark("end")` are called on the loop at the window's edges (the CPU
    meter samples there).
    """
    return asyncio.run(
        _drive(base_url, checkout, clients=clients, seconds=seconds, warmup=warmup, mark=mark)
    )
