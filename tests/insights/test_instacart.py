"""The Instacart sample's orders laid out backwards from one end date."""

import csv
from io import StringIO

from insights.instacart import END, instacart_convert

HEADER = (
    ",order_id,user_id,order_number,order_dow,order_hour_of_day,days_since_prior_order,"
    "product_id,add_to_cart_order,reordered\n"
)
SAMPLE = (
    HEADER
    + """0,10,1,1,2,8,,196,1.0,0.0
1,10,1,1,2,8,,14084,2.0,0.0
2,11,1,2,3,9,15.0,196,1.0,1.0
3,20,2,1,1,7,,5,1.0,0.0
"""
)


def test_each_users_last_order_falls_on_the_end_date() -> None:
    out = StringIO()
    assert instacart_convert(StringIO(SAMPLE), out) == 4
    rows = list(csv.DictReader(StringIO(out.getvalue())))
    at = {(row["customer_ref"], row["order_ref"]): row["occurred_at"] for row in rows}
    assert at[("IC1", "11")].startswith(END.date().isoformat())
    assert at[("IC2", "20")].startswith(END.date().isoformat())
    assert at[("IC1", "10")].startswith("2025-12-16")
    assert {row["sku"] for row in rows} == {"P196", "P14084", "P5"}
