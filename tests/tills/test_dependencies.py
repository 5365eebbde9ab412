"""Dependencies run one way (docs/architecture.md): tills builds on payments, never the reverse."""

import ast
from pathlib import Path

import payments
from payments.methods import method_for, registered


def test_payments_never_imports_tills() -> None:
    root = Path(payments.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [f"{path}: {n}" for n in names if n.split(".")[0] == "tills"]
    assert offenders == []


def test_the_offline_gift_card_method_is_registered_by_tills() -> None:
    assert "offline_gift_card" in registered()
    assert type(method_for("offline_gift_card")).__module__ == "tills.tender_method"
