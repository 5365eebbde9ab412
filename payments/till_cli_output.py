"""`kassa-till`'s readable output: one line per fact a cashier needs (`--json` has it all)."""

from __future__ import annotations

import json
from typing import Any


def _money(value: dict[str, str] | None) -> str:
    return f"{value['amount']} {value['currency']}" if value else "-"


def _entry(item: dict[str, Any]) -> str:
    line = f"#{item['seq']} {item['occurred_at']} {_money(item['amount'])} "
    line += f"{'+'.join(m or '?' for m in item['methods'])} {item['status']}"
    if item.get("offline"):
        line += " (offline)"
    if item.get("payment"):
        line += f" payment {item['payment']}"
    if item["status"] != "synced" and item.get("outcome"):
        outcome = item["outcome"]
        line += f": {outcome.get('code', '')} {outcome.get('detail', '')}".rstrip()
    return line


def _sale(result: dict[str, Any], command: str) -> list[str]:
    lines = [f"sent: {_entry(item)}" for item in result.get("replayed", [])]
    sale, what = result[command], command.capitalize()
    if result["offline"]:
        lines.append(
            f"{what} recorded OFFLINE: {_money(sale['amount'])} (journal #{sale['seq']}); "
            "it is sent on the next sync."
        )
    else:
        noun = "payment" if command == "sale" else "refund"
        lines.append(f"{what} {_money(sale['amount'])} {sale['status']}: {noun} {sale['id']}")
    return lines


def _session(result: dict[str, Any]) -> list[str]:
    if "direction" in result:
        return [f"Cash {result['direction']}: {_money(result['amount'])} ({result['reason']})"]
    lines = [f"Session {result['id']} {result['status']}, float {_money(result['float'])}"]
    if result["status"] == "closed":
        lines.append(
            f"expected {_money(result['expected'])}, counted {_money(result['counted'])}, "
            f"variance {_money(result['variance'])}"
        )
        lines += [f"  {name}: {value}" for name, value in result["z_report"].items()]
    return lines


def _gift_card(result: dict[str, Any]) -> list[str]:
    if "available" in result:  # a balance
        return [
            f"Gift card …{result['last4']} {result['status']}: "
            f"{_money(result['available'])} available ({_money(result['held'])} held)"
        ]
    lines = [f"Payment {result['id']} {result['status']}: {_money(result['amount'])}"]
    for card in result.get("gift_cards", []):
        lines.append(f"Gift card …{card['last4']} {card['kind']}: {_money(card['amount'])}")
        if card.get("code"):
            lines.append(f"  CODE (shown once, give it to the customer): {card['code']}")
    return lines


def readable(command: str, result: dict[str, Any]) -> list[str]:
    if command == "gift-card":
        return _gift_card(result)
    if command in ("sale", "refund"):
        return _sale(result, command)
    if command == "sync":
        lines = [f"sent: {_entry(item)}" for item in result["replayed"]]
        return [*lines, f"{len(lines)} sent, {result['pending']} still pending."]
    if command == "journal":
        return [_entry(item) for item in result["entries"]] or ["The journal is empty."]
    if command == "session":
        return _session(result)
    lines = []
    for name, value in result.items():
        if isinstance(value, dict | list):
            value = json.dumps(value, sort_keys=True, default=str)
        lines.append(f"{name}: {value}")
    return lines
