"""`kassa-till`: the till's command line, on top of the till client and its local journal.

Sales go to the journal first and then to the server; when the server cannot be reached a
sale the offline policy allows completes locally and is replayed later (`sync`, or any later
command that reaches the server). No Django here: this runs on the till.

Exit codes (also in `kassa-till --help`):
  0 done · 1 unexpected error · 2 bad usage · 3 not configured · 4 refused by the server ·
  5 server unreachable · 6 refused by the offline policy · 7 sync left refused entries
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

from payments.till_cli_output import readable
from payments.till_cli_parser import parser
from payments.till_client import KassaApiError, KassaUnreachable, TillClient, money, sale_body
from payments.till_journal import (
    NOT_ALLOWED,
    PENDING,
    REFUSED,
    SYNCED,
    Journal,
    OfflineRefused,
    now_utc,
    offline_body,
)

OK, ERROR, USAGE, NOT_CONFIGURED, REFUSED_BY_SERVER, UNREACHABLE, POLICY, SYNC_REFUSALS = range(8)
# Answers about the till rather than the entry: its key, its scope, its pace.
TILL_REFUSED = frozenset(
    {"authentication_failed", "not_authenticated", "permission_denied", "rate_limited"}
)
EXIT_CODES = __doc__.split("Exit codes (also in `kassa-till --help`):")[1].strip()


class CliError(Exception):
    def __init__(self, message: str, code: int, data: dict[str, Any] | None = None) -> None:
        self.code = code
        self.data = data or {}
        super().__init__(message)


class Till:
    """One invocation: the data folder, its config and journal, a client when configured."""

    def __init__(self) -> None:
        self.home = Path(os.environ.get("KASSA_TILL_HOME") or Path.home() / ".kassa-till")
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.config_path = self.home / "config.json"
        self.journal = Journal(self.home / "journal.sqlite3")
        self._client: TillClient | None = None

    def config(self) -> dict[str, Any]:
        if not self.config_path.exists():
            raise CliError("Not configured: run `kassa-till configure` first.", NOT_CONFIGURED)
        return dict(json.loads(self.config_path.read_text()))

    def write_config(self, config: dict[str, Any]) -> None:
        """Mode 600 from the moment it exists: it holds the terminal's key."""
        tmp = self.config_path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(config, handle)
        os.replace(tmp, self.config_path)

    def client(self) -> TillClient:
        if self._client is None:
            config = self.config()
            self._client = TillClient(
                config["server"],
                api_key=config["key"],
                attempts=int(config.get("attempts", 3)),
                timeout=float(config.get("timeout", 10.0)),
            )
        return self._client

    def online(self, *, before: int | None = None) -> list[dict[str, Any]]:
        """Reaching the server: refresh the cached policy, then replay what is pending."""
        self.journal.set_state("offline_policy", self.client().offline_policy())
        report = replay(self, before=before)
        if report:  # a replay may have used some of the allowance (a shortfall)
            self.journal.set_state("offline_policy", self.client().offline_policy())
        return report

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        self.journal.close()


def replay(till: Till, *, before: int | None = None) -> list[dict[str, Any]]:
    """Send every pending entry in journal order, each exactly once.

    Unreachable half-way raises KassaUnreachable: what was sent is marked, the rest waits.
    A refusal of the till itself (its key, or "slow down") is not the entry's answer: it is
    raised, and the entry waits too.
    """
    report = []
    for entry in till.journal.pending(before=before):
        try:
            answer = till.client().post(
                entry.path, entry.body, idempotency_key=entry.idempotency_key
            )
        except KassaApiError as error:
            if error.code in TILL_REFUSED:
                raise
            done = till.journal.conclude(entry.idempotency_key, status=REFUSED, outcome=error.body)
        else:
            done = till.journal.conclude(
                entry.idempotency_key, status=SYNCED, outcome={}, payment_id=answer.get("id")
            )
        report.append(done.as_json())
    return report


# -- commands -------------------------------------------------------------------------------


def cmd_configure(till: Till, args: argparse.Namespace) -> dict[str, Any]:
    key = args.key or sys.stdin.readline().strip()
    if not key:
        raise CliError("Give the terminal key with --key or on standard input.", USAGE)
    till.write_config(
        {"server": args.server, "key": key, "attempts": args.attempts, "timeout": args.timeout}
    )
    return {"configured": str(till.config_path), "server": args.server}


def cmd_status(till: Till, args: argparse.Namespace) -> dict[str, Any]:
    config = till.config()
    result: dict[str, Any] = {"server": config["server"], "home": str(till.home)}
    try:
        result["me"] = till.client().whoami()
        result["replayed"] = till.online()
        result["online"] = True
    except KassaUnreachable:
        result["online"] = False
    pending = till.journal.entries(status=PENDING)
    result["pending"] = len(pending)
    result["offline_policy"] = till.journal.state("offline_policy")
    result["session"] = till.journal.state("session")
    return result


def _online_call(till: Till, call: Any) -> dict[str, Any]:
    """A call that needs the server (main() turns its errors into exit codes)."""
    till.online()
    return dict(call(till.client()))


def cmd_identify(till: Till, args: argparse.Namespace) -> dict[str, Any]:
    pairs = [item.partition(":") for item in args.id]
    identifiers = [{"kind": kind, "value": value} for kind, _, value in pairs]
    return _online_call(till, lambda c: c.identify(identifiers, create=not args.no_create))


def cmd_wallet(till: Till, args: argparse.Namespace) -> dict[str, Any]:
    return _online_call(till, lambda c: c.wallet(args.customer))


def _tenders(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Tender options, each `VALUE[@AMOUNT]`; an amount is needed when there are several."""
    tenders: list[dict[str, Any]] = []

    def add(method: str, value: str | None, **fields: Any) -> None:
        tender = {"method": method, **{k: v for k, v in fields.items() if v}}
        if value and "@" in value:
            amount = value.rsplit("@", 1)[1]
            tender["amount"] = money(amount, args.currency)
        tenders.append(tender)

    for value in args.cash or []:
        add("cash", value)
    for value in args.external_card or []:
        add("external_card", value, reference=value.split("@")[0])
    for value in args.gift_card or []:
        code, _, pin = value.split("@")[0].partition(":")
        add("gift_card", value, code=code, pin=pin)
    for value in args.saved_card or []:
        add("card", value, bank_card=value.split("@")[0])
    if args.tenders_json:
        tenders.extend(json.loads(Path(args.tenders_json).read_text()))
    if not tenders:
        raise CliError("Give at least one tender (--cash, --external-card, …).", USAGE)
    return tenders


def cmd_sale(till: Till, args: argparse.Namespace) -> dict[str, Any]:
    """Journal first, then the server; unreachable → complete offline if the policy allows."""
    body = sale_body(
        amount=args.amount,
        currency=args.currency,
        tenders=_tenders(args),
        customer=args.customer,
        reference=args.reference,
    )
    return _journaled(till, "payments", body, offline_body, name="sale")


def _journaled(
    till: Till, path: str, body: dict[str, Any], offline: Any, *, name: str
) -> dict[str, Any]:
    """Store and forward: the entry is in the journal before it is sent, with its key and
    time; `offline(body)` is what is replayed when the server never saw it."""
    occurred_at = now_utc()
    body["occurred_at"] = occurred_at.isoformat()
    key = str(uuid.uuid4())
    entry = till.journal.record(path=path, body=body, key=key, occurred_at=body["occurred_at"])
    try:
        replayed = till.online(before=entry.seq)  # older entries first: the order is kept
        answer = till.client().post(path, body, idempotency_key=key)
    except KassaApiError as error:
        till.journal.conclude(key, status=REFUSED, outcome=error.body)
        raise CliError(f"Refused: {error.code}: {error.detail}", REFUSED_BY_SERVER) from error
    except KassaUnreachable as error:
        # Unreachable before this entry was sent, its key is in no request yet.
        sent = error.idempotency_key == key and error.maybe_delivered
        stored = _offline(till, key, offline, maybe_delivered=sent)
        return {name: stored, "offline": True, "replayed": []}
    till.journal.conclude(key, status=SYNCED, outcome={}, payment_id=answer.get("id"))
    return {name: answer, "offline": False, "replayed": replayed}


def _offline(till: Till, key: str, offline: Any, *, maybe_delivered: bool) -> dict[str, Any]:
    """Check the policy; a sale the server never saw is replayed as `offline(body)`, one it
    may have seen exactly as it was sent."""
    body = till.journal.get(key).body
    try:
        till.journal.check_offline(body, at=now_utc())
    except OfflineRefused as refusal:
        if maybe_delivered:  # it may have been paid: only the server can say, on a sync
            raise CliError(
                "The server may have received this entry but did not answer: its outcome is "
                f"unknown until `kassa-till sync` (journal #{till.journal.get(key).seq}).",
                UNREACHABLE,
            ) from refusal
        till.journal.conclude(key, status=NOT_ALLOWED, outcome={"detail": str(refusal)})
        raise CliError(f"Server unreachable, and {refusal}", POLICY) from refusal
    return till.journal.go_offline(key, body if maybe_delivered else offline(body)).as_json()


def cmd_gift_card(till: Till, args: argparse.Namespace) -> dict[str, Any]:
    """Online only: a card is issued or reloaded by the server once the payment is captured.

    The payment carries one Idempotency-Key, so a retry never sells twice; the code of a new
    card is in the first answer only (a lost answer means a lost code: block and sell again).
    """
    code, _, pin = getattr(args, "card", "").partition(":")
    if args.action == "balance":
        return _online_call(till, lambda c: c.gift_card_balance(code, pin or None))
    line: dict[str, Any] = {
        "sku": "GIFT-CARD",
        "name": "Gift card" if args.action == "sell" else "Gift card reload",
        "quantity": 1,
        "unit_price": money(args.amount, args.currency),
        "kind": "gift_card" if args.action == "sell" else "gift_card_reload",
    }
    if args.action == "reload":
        line["gift_card"] = _online_call(till, lambda c: c.gift_card_balance(code, pin or None))[
            "id"
        ]
    body = sale_body(
        amount=args.amount,
        currency=args.currency,
        tenders=_tenders(args),
        reference=args.reference,
        basket=[line],
    )
    key = str(uuid.uuid4())
    return _online_call(till, lambda c: c.post("payments", body, idempotency_key=key))


def cmd_allowance(till: Till, args: argparse.Namespace) -> dict[str, Any]:
    """Reserve (renew) or release the allowance for gift cards taken offline (the journal is
    replayed first, so a renewal never forgets an offline sale), then cache the new policy."""
    path, body = "tills/offline-allowance/release", {"currency": args.currency}
    if args.action == "reserve":
        path, body = "tills/offline-allowance", {"amount": money(args.amount, args.currency)}
    key = str(uuid.uuid4())
    answer = _online_call(till, lambda c: c.post(path, body, idempotency_key=key))
    till.journal.set_state("offline_policy", till.client().offline_policy())
    return answer or {"released": None, "currency": args.currency}


def cmd_refund(till: Till, args: argparse.Namespace) -> dict[str, Any]:
    """Journaled like a sale: offline, within the caps, it is replayed on the next sync."""
    body = {"amount": money(args.amount, args.currency), "policy": "reverse", "reason": args.reason}
    path = f"payments/{args.payment}/refunds"
    return _journaled(till, path, body, lambda same: same, name="refund")


def cmd_sync(till: Till, args: argparse.Namespace) -> dict[str, Any]:
    report = till.online()
    left = len(till.journal.entries(status=PENDING))
    result = {"replayed": report, "pending": left}
    if any(item["status"] == REFUSED for item in report):
        raise CliError("Some entries were refused (kept in the journal).", SYNC_REFUSALS, result)
    return result


def cmd_journal(till: Till, args: argparse.Namespace) -> dict[str, Any]:
    entries = till.journal.entries(status=args.status, limit=args.limit)
    return {"entries": [entry.as_json() for entry in entries]}


def _session_call(till: Till, path: str, body: dict[str, Any]) -> dict[str, Any]:
    key = str(uuid.uuid4())
    return _online_call(till, lambda c: c.post(path, body, idempotency_key=key))


def _open_session(till: Till) -> str:
    session = till.journal.state("session")
    if not session:
        raise CliError("No open session on this till: `kassa-till session open` first.", USAGE)
    return str(session)


def cmd_session(till: Till, args: argparse.Namespace) -> dict[str, Any]:
    if args.action == "open":
        answer = _session_call(till, "till-sessions", {"float": money(args.amount, args.currency)})
        till.journal.set_state("session", answer["id"])
        return answer
    session = _open_session(till)
    if args.action in ("cash-in", "cash-out"):
        body = {
            "direction": args.action.removeprefix("cash-"),
            "amount": money(args.amount, args.currency),
            "reason": args.reason,
        }
        return _session_call(till, f"till-sessions/{session}/cash", body)
    body = {"counted": money(args.amount, args.currency)}
    if args.staff_key:
        body["staff_key"] = args.staff_key
    answer = _session_call(till, f"till-sessions/{session}/close", body)
    till.journal.set_state("session", None)
    return answer


# -- output ---------------------------------------------------------------------------------


def _print(result: dict[str, Any], as_json: bool, command: str = "") -> None:
    if as_json:
        print(json.dumps(result, indent=2, sort_keys=True, default=str))
    else:
        print("\n".join(readable(command, result)))


COMMANDS = {
    "configure": cmd_configure,
    "status": cmd_status,
    "identify": cmd_identify,
    "wallet": cmd_wallet,
    "sale": cmd_sale,
    "refund": cmd_refund,
    "gift-card": cmd_gift_card,
    "allowance": cmd_allowance,
    "sync": cmd_sync,
    "journal": cmd_journal,
    "session": cmd_session,
}


def _run(till: Till, args: argparse.Namespace) -> dict[str, Any]:
    try:
        return COMMANDS[args.command](till, args)
    except KassaApiError as error:
        raise CliError(f"Refused: {error.code}: {error.detail}", REFUSED_BY_SERVER) from error
    except KassaUnreachable as error:
        raise CliError(f"The server cannot be reached: {error}", UNREACHABLE) from error


def main(argv: list[str] | None = None) -> int:
    args = parser(EXIT_CODES).parse_args(argv)
    till = Till()
    try:
        _print(_run(till, args), args.json, args.command)
        return OK
    except CliError as error:
        if args.json:
            _print({"error": str(error), "exit_code": error.code, **error.data}, True)
        else:
            print(f"kassa-till: {error}", file=sys.stderr)
            if error.data:
                _print(error.data, False, args.command)
        return error.code
    finally:
        till.close()


if __name__ == "__main__":
    sys.exit(main())
