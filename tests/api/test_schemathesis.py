"""The OpenAPI schema describes what the server does: schemathesis fuzzes every operation.

A live test server (real PostgreSQL, localstripe) is driven by the schemathesis command line,
once with a web shop's key and once with a till's, a bounded number of examples per operation.
Any server error, or any answer whose status, content type or body the schema does not
declare, fails the test.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from merchants.models import ApiKey, Merchant, Store, Terminal
from merchants.services import api_key_issue

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

EXAMPLES_PER_OPERATION = 20
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)
# Webhooks are signed by Stripe, not called with an API key: tested in tests/payments.
EXCLUDED_PATHS = r"^/api/v1/stripe/"


def _schemathesis(base_url: str, raw_key: str, report: Path) -> subprocess.CompletedProcess[str]:
    st = Path(sys.executable).with_name("st")
    return subprocess.run(
        [
            str(st),
            "run",
            f"{base_url}/api/schema/",
            "--url",
            base_url,
            "--header",
            f"Authorization: Bearer {raw_key}",
            "--checks",
            CHECKS,
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--phases",
            "examples,coverage,fuzzing",
            "--exclude-path-regex",
            EXCLUDED_PATHS,
            "--workers",
            "1",
            "--request-timeout",
            "30",
            "--seed",
            "1",
            "--suppress-health-check",
            "all",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=report.parent,
    )


@pytest.mark.parametrize("scope", [ApiKey.Scope.MERCHANT, ApiKey.Scope.TERMINAL])
def test_every_operation_answers_as_its_schema_says(live_server, localstripe, tmp_path, scope):
    merchant = Merchant.objects.create(name="Fuzzed Retail")
    store = Store.objects.create(merchant=merchant, code="F1", name="Fuzz store")
    till = Terminal.objects.create(store=store, code="T1", name="Fuzz till")
    _, raw_key = api_key_issue(
        merchant=merchant,
        scope=scope,
        name=f"fuzz {scope}",
        terminal=till if scope == ApiKey.Scope.TERMINAL else None,
    )
    run = _schemathesis(live_server.url, raw_key, tmp_path / "report")
    summary = "\n".join(run.stdout.splitlines()[-40:])
    print(summary)
    assert run.returncode == 0, f"schemathesis found problems:\n{run.stdout[-20000:]}\n{run.stderr}"
