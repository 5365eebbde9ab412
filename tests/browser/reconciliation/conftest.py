"""The mixed day of tests/reconciliation, for the browser."""

from tests.reconciliation.conftest import day, shop  # noqa: F401
