"""The `kassa-till` command line's grammar: every command, its options and its help."""

from __future__ import annotations

import argparse

from payments.till_journal import NOT_ALLOWED, PENDING, REFUSED, SYNCED


def parser(exit_codes: str) -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="kassa-till",
        description=(
            "Kassa's till: sales, refunds, gift cards and drawer sessions. With the server "
            "away, sales and refunds within the offline policy are journaled and sent by "
            "`sync`, exactly once; gift cards (code and PIN) only within the till's allowance."
        ),
        epilog=f"Exit codes: {exit_codes}",
    )
    top.add_argument("--json", action="store_true", help="machine-readable output")
    # Also after the command; SUPPRESS keeps a subcommand from resetting `kassa-till --json …`.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, parents=[common])

    cfg = command("configure", "Save the server URL and terminal key (mode 600).")
    cfg.add_argument("--server", required=True, help="e.g. https://kassa.example.com")
    cfg.add_argument("--key", help="terminal key (default: read from standard input)")
    cfg.add_argument("--attempts", type=int, default=3, help="tries per request")
    cfg.add_argument("--timeout", type=float, default=10.0, help="seconds per try")
    command("status", "Show the configuration, the server, the journal and the policy.")
    ident = command("identify", "Find (or create) a customer from identifiers.")
    ident.add_argument("--id", action="append", required=True, metavar="KIND:VALUE")
    ident.add_argument("--no-create", action="store_true", help="look up only")
    wallet = command("wallet", "Show a customer's wallet.")
    wallet.add_argument("customer", help="customer id")
    sale = command("sale", "Make a sale (offline within the policy when the server is away).")
    sale.add_argument("--amount", required=True, help="total, e.g. 12.50")
    sale.add_argument("--currency", default="EUR")
    sale.add_argument("--customer", help="customer id")
    sale.add_argument("--reference", default="", help="receipt number")
    _tender_options(sale)
    gift = command("gift-card", "Sell, reload or check a gift card (online only).")
    gift_actions = gift.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, help in (
        ("sell", "Sell a new card of AMOUNT, paid with the tenders given; its code is shown once."),
        ("reload", "Add AMOUNT to the card CODE[:PIN], paid with the tenders given."),
        ("balance", "Show the balance of the card CODE[:PIN]."),
    ):
        action = gift_actions.add_parser(name, help=help, description=help, parents=[common])
        if name != "sell":
            action.add_argument("card", metavar="CODE[:PIN]")
        if name != "balance":
            action.add_argument("--amount", required=True, help="the card's value, e.g. 25.00")
            action.add_argument("--currency", default="EUR")
            action.add_argument("--reference", default="", help="receipt number")
            _tender_options(action)
    allowance = command(
        "allowance", "Reserve, renew or release the allowance for gift cards taken offline."
    )
    allowance_actions = allowance.add_subparsers(dest="action", required=True, metavar="ACTION")
    reserve = allowance_actions.add_parser(
        "reserve",
        help="Reserve (or renew) AMOUNT on the merchant's offline float.",
        description="Reserve (or renew) AMOUNT on the merchant's offline float.",
        parents=[common],
    )
    reserve.add_argument("amount", metavar="AMOUNT")
    release = allowance_actions.add_parser(
        "release",
        help="Give the allowance back to the float.",
        description="Give the allowance back to the float.",
        parents=[common],
    )
    for action in (reserve, release):
        action.add_argument("--currency", default="EUR")
    refund = command("refund", "Refund (part of) a payment (journaled like a sale).")
    refund.add_argument("payment", help="payment id")
    refund.add_argument("--amount", required=True)
    refund.add_argument("--currency", default="EUR")
    refund.add_argument("--reason", default="")
    command("sync", "Replay the journal's pending sales and refunds, in order, exactly once.")
    journal = command("journal", "List the journal's entries.")
    journal.add_argument("--status", choices=[PENDING, SYNCED, REFUSED, NOT_ALLOWED])
    journal.add_argument("--limit", type=int, default=100)
    session = command("session", "Open, move cash in or out of, and close the drawer.")
    actions = session.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, help, amount in (
        ("open", "Open a session with a float.", "float"),
        ("cash-in", "Put cash into the drawer.", "amount"),
        ("cash-out", "Take cash out of the drawer.", "amount"),
        ("close", "Close with the counted cash: expected, variance, Z report.", "counted"),
    ):
        action = actions.add_parser(name, help=help, description=help, parents=[common])
        action.add_argument("amount", metavar=amount.upper())
        action.add_argument("--currency", default="EUR")
        if name.startswith("cash-"):
            action.add_argument("--reason", required=True)
        if name == "close":
            action.add_argument("--staff-key", help="a staff key accepting a large variance")
    return top


def _tender_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--cash", action="append", nargs="?", const="", metavar="@AMOUNT")
    command.add_argument("--external-card", action="append", metavar="REF[@AMOUNT]")
    command.add_argument("--gift-card", action="append", metavar="CODE:PIN[@AMOUNT]")
    command.add_argument("--saved-card", action="append", metavar="BANK_CARD_ID[@AMOUNT]")
    command.add_argument("--tenders-json", metavar="FILE", help="a JSON list of tenders")
