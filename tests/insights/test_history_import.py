"""The history import: idempotent, bad lines reported by number and skipped, rest imported."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from customers.models import Identifier
from insights.models import Product, Purchase
from merchants.models import Merchant

HEADER = "customer_ref,occurred_at,sku,quantity,product_name,category,unit_price,currency,channel\n"
GOOD = "C1,2025-03-01T10:00:00+00:00,MILK,2,Milk 1l,dairy,1.20,EUR,store\n"


def run(path: Path) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("history_import", str(path), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_bad_lines_are_reported_with_their_number_and_the_rest_imported(
    merchant: Merchant, tmp_path: Path
) -> None:
    path = tmp_path / "h.csv"
    path.write_text(
        HEADER
        + GOOD
        + "C1,2025-03-01T10:00:00+00:00,BREAD,0,Bread,bakery,,,store\n"
        + "C2,not a date,MILK,1,,,,,web\n"
        + ",2025-03-02T10:00:00+00:00,MILK,1,,,,,web\n"
        + "C2,2025-03-02T10:00:00+00:00,EGGS,1,Eggs,dairy,abc,EUR,web\n"
        + "C2,2025-03-02T10:00:00+00:00,EGGS,3,Eggs,dairy,2.50,EUR,web\n"
    )
    out, err = run(path)
    assert "line 3: quantity must be a whole number" in err
    assert "line 4: occurred_at is not an ISO 8601" in err
    assert "line 5: customer_ref is missing" in err
    assert "line 6: unit_price is not a number" in err
    assert "imported 2" in out
    assert "rejected 4" in out
    assert Purchase.objects.count() == 2
    assert Purchase.objects.get(sku="EGGS").currency == "EUR"
    assert set(Identifier.objects.values_list("value", flat=True)) == {"c1", "c2"}  # normalised
    eggs = Product.objects.get(merchant=merchant, sku="EGGS")
    assert (eggs.category, str(eggs.last_price), eggs.currency) == ("dairy", "2.50", "EUR")


def test_importing_the_same_file_again_adds_nothing(merchant: Merchant, history_csv: Path) -> None:
    out, _ = run(history_csv)
    first = Purchase.objects.count()
    assert first > 1000
    assert "read " in out
    customers = Identifier.objects.count()
    out, _ = run(history_csv)
    assert Purchase.objects.count() == first
    assert Identifier.objects.count() == customers
    assert f"already there {first}" in out
    assert "imported 0" in out


def test_a_file_without_a_required_column_is_refused(merchant: Merchant, tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("customer_ref,sku,quantity\nC1,MILK,1\n")
    with pytest.raises(CommandError, match="occurred_at"):
        run(path)
    assert not Purchase.objects.exists()
