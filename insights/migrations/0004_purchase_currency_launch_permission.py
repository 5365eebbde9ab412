"""Purchases get their currency (filled from the payment, or the imported product's price),
segments the currency their minimum spend is in, campaigns a permission to launch them."""

from django.db import migrations, models

FILL_FROM_PAYMENTS = """
UPDATE insights_purchase AS purchase SET currency = payment.captured_amount_currency
FROM payments_payment AS payment
WHERE purchase.line_key LIKE 'payment:%%' AND purchase.unit_price IS NOT NULL
  AND payment.public_id::text = split_part(purchase.line_key, ':', 2)
"""
FILL_FROM_PRODUCTS = """
UPDATE insights_purchase AS purchase SET currency = product.currency
FROM insights_product AS product
WHERE purchase.currency = '' AND purchase.unit_price IS NOT NULL
  AND product.merchant_id = purchase.merchant_id AND product.sku = purchase.sku
"""


class Migration(migrations.Migration):
    dependencies = [
        ("insights", "0003_offer_channels"),
        ("payments", "0001_initial"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="campaign",
            options={
                "permissions": [("launch_campaign", "Can launch a campaign (issues its vouchers)")]
            },
        ),
        migrations.AddField(
            model_name="purchase",
            name="currency",
            field=models.CharField(blank=True, max_length=3, default=""),
            preserve_default=False,
        ),
        migrations.RunSQL(FILL_FROM_PAYMENTS, migrations.RunSQL.noop),
        migrations.RunSQL(FILL_FROM_PRODUCTS, migrations.RunSQL.noop),
        migrations.AddField(
            model_name="segment",
            name="currency",
            field=models.CharField(
                default="EUR",
                help_text="Spend counts only purchases in this currency.",
                max_length=3,
            ),
        ),
    ]
