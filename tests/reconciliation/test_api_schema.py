"""schemathesis on the settlements operation with a staff key (the shared schema run in
tests/api uses shop and till keys, which this operation refuses)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from merchants.models import ApiKey
from merchants.services import api_key_issue
from reconciliation.services import settlement_compute
from tests.api.test_schemathesis import CHECKS
from tests.reconciliation.conftest import Day

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_settlements_answer_as_the_schema_says(live_server, day: Day, tmp_path: Path) -> None:
    settlement_compute(
        merchant=day.shop.merchant,
        store=day.shop.store,
        business_day=day.business_day,
        match_stripe=False,
    )
    _, raw = api_key_issue(merchant=day.shop.merchant, scope=ApiKey.Scope.STAFF, name="fuzz")
    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("st")),
            "run",
            f"{live_server.url}/api/schema/",
            "--url",
            live_server.url,
            "--header",
            f"Authorization: Bearer {raw}",
            "--checks",
            CHECKS,
            "--max-examples",
            "30",
            "--phases",
            "examples,coverage,fuzzing",
            "--include-path-regex",
            "^/api/v1/settlements",
            "--workers",
            "1",
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
        cwd=tmp_path,
    )
    assert run.returncode == 0, f"{run.stdout[-10000:]}\n{run.stderr}"
    assert "Tested: 1" in run.stdout, run.stdout
    cases = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    assert cases is not None, run.stdout
    assert int(cases.group(2)) == int(cases.group(1)) > 50
