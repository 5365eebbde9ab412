"""`kassa_pos_sale(jsonb)`: the till's everyday sale, written in one call.

`payments.services.sale_fast` plans the sale in Python with the engine's own rules (the
planner, the pricing, the ledger's moves and entries) and hands every row to this function,
which writes them in one statement with cached plans: the idempotency record (completed, with
its answer), the customer's lock, the ledger write of `wallet.ledger._WRITE` (instrument
accounts locked in pk order, conditional on their funds), the re-check of the spent instruments
under those locks, then the payment, its tenders, its event and the points lot. It returns
false, having written nothing, when the idempotency key is taken; anything that no longer holds
under the locks (funds, a card blocked or expired or no longer the customer's, the account that
earns, the customer merged) raises SQLSTATE KA001 so the whole call rolls back and the caller
runs the general engine, which reports it. Every column of every row comes from the caller: a
column added to one of these tables needs this function updated
(tests/payments/test_sale_fast.py compares its rows with the engine's, column by column).
"""

from django.db import migrations

FUNCTION = r"""
-- A JSON array as text[], to cast to the column's array type (an empty array for NULL).
CREATE OR REPLACE FUNCTION kassa_texts(a jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY(SELECT jsonb_array_elements_text(a)) $$;

CREATE OR REPLACE FUNCTION kassa_pos_sale(p jsonb) RETURNS boolean
LANGUAGE plpgsql AS $fn$
DECLARE
    l jsonb := p->'ledger';
    at timestamptz := (p->>'at')::timestamptz;
    ids bigint[] := kassa_texts(l->'ids')::bigint[];
    customer bigint := (p->>'customer_id')::bigint;
    funded integer;
    new_payment bigint;
BEGIN
    INSERT INTO merchants_idempotencyrecord (api_key_id, key, request_fingerprint, status,
        response_status, response_body, created_at, completed_at)
    VALUES ((p#>>'{idempotency,api_key_id}')::bigint, p#>>'{idempotency,key}',
        p#>>'{idempotency,fingerprint}', 'completed', 201, p#>'{idempotency,body}', at, at)
    ON CONFLICT (api_key_id, key) DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;
    END IF;

    PERFORM 1 FROM customers_customer
    WHERE id = customer AND merged_into_id IS NULL AND erased_at IS NULL
    FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'customer merged or erased' USING ERRCODE = 'KA001';
    END IF;

    WITH locked AS MATERIALIZED (
        SELECT id FROM wallet_ledgeraccount WHERE id = ANY(ids) ORDER BY id FOR UPDATE
    ), applied AS (
        UPDATE wallet_ledgeraccount AS a SET
            debits_pending = a.debits_pending + v.dpe, debits_posted = a.debits_posted + v.dpo,
            credits_pending = a.credits_pending + v.cpe,
            credits_posted = a.credits_posted + v.cpo
        FROM locked, unnest(ids,
            kassa_texts(l->'dpe')::numeric[],
            kassa_texts(l->'dpo')::numeric[],
            kassa_texts(l->'cpe')::numeric[],
            kassa_texts(l->'cpo')::numeric[])
            AS v(id, dpe, dpo, cpe, cpo)
        WHERE a.id = locked.id AND a.id = v.id
            AND a.credits_posted + v.cpo - a.debits_posted - v.dpo - a.debits_pending - v.dpe >= 0
        RETURNING a.id
    )
    SELECT count(*) INTO funded FROM applied;
    IF funded <> cardinality(ids) THEN
        RAISE EXCEPTION 'short of funds' USING ERRCODE = 'KA001';
    END IF;

    -- Under the customer's and the accounts' locks: every spent instrument still usable and
    -- still the customer's (an unmerge moves them), and the account that earns still the
    -- customer's oldest open one in the programme (a merge may have brought an older one).
    IF EXISTS (
        SELECT 1 FROM wallet_giftcard WHERE account_id = ANY(ids)
            AND (status <> 'active' OR customer_id IS DISTINCT FROM customer
                OR (expires_at IS NOT NULL AND expires_at <= clock_timestamp()))
        UNION ALL
        SELECT 1 FROM wallet_loyaltyaccount WHERE account_id = ANY(ids)
            AND (closed_at IS NOT NULL OR customer_id <> customer)
    ) OR (
        SELECT la.id FROM wallet_loyaltyaccount la
        JOIN wallet_loyaltyprogramme lp ON lp.id = la.programme_id
        WHERE la.customer_id = customer AND la.closed_at IS NULL
            AND lp.merchant_id = (p#>>'{earning,merchant_id}')::bigint
            AND lp.currency = p#>>'{earning,currency}'
        ORDER BY la.created_at, la.id LIMIT 1
    ) IS DISTINCT FROM (p#>>'{earning,loyalty_id}')::bigint THEN
        RAISE EXCEPTION 'instrument changed' USING ERRCODE = 'KA001';
    END IF;

    WITH transfers AS (
        INSERT INTO wallet_transfer (public_id, merchant_id, kind, code, debit_account_id,
            credit_account_id, amount, unit, pending_id, reverses_id, expires_at, reference,
            reason, actor, created_at)
        SELECT t.public_id, t.merchant_id, t.kind, t.code, t.debit_account_id,
            t.credit_account_id, t.amount, t.unit, t.pending_id, t.reverses_id, t.expires_at,
            t.reference, t.reason, t.actor, at
        FROM unnest(
            kassa_texts(l->'t_public_id')::uuid[],
            kassa_texts(l->'t_merchant_id')::bigint[],
            kassa_texts(l->'t_kind')::varchar[],
            kassa_texts(l->'t_code')::varchar[],
            kassa_texts(l->'t_debit')::bigint[],
            kassa_texts(l->'t_credit')::bigint[],
            kassa_texts(l->'t_amount')::numeric[],
            kassa_texts(l->'t_unit')::varchar[],
            kassa_texts(l->'t_pending')::bigint[],
            kassa_texts(l->'t_reverses')::bigint[],
            kassa_texts(l->'t_expires_at')::timestamptz[],
            kassa_texts(l->'t_reference')::varchar[],
            kassa_texts(l->'t_reason')::text[],
            kassa_texts(l->'t_actor')::varchar[])
            AS t(public_id, merchant_id, kind, code, debit_account_id, credit_account_id,
                amount, unit, pending_id, reverses_id, expires_at, reference, reason, actor)
        RETURNING id, public_id
    )
    INSERT INTO wallet_entry (transfer_id, account_id, layer, side, amount)
    SELECT transfers.id, e.account_id, e.layer, e.side, e.amount
    FROM unnest(
        kassa_texts(l->'e_transfer')::uuid[],
        kassa_texts(l->'e_account')::bigint[],
        kassa_texts(l->'e_layer')::varchar[],
        kassa_texts(l->'e_side')::varchar[],
        kassa_texts(l->'e_amount')::numeric[])
        AS e(transfer_public_id, account_id, layer, side, amount)
    JOIN transfers ON transfers.public_id = e.transfer_public_id;

    INSERT INTO payments_payment (public_id, merchant_id, store_id, terminal_id, api_key_id,
        idempotency_key, customer_id, channel, status, amount_currency, amount,
        captured_amount_currency, captured_amount, refunded_amount_currency, refunded_amount,
        capture_requested, points_earned, loyalty_earn_transfer_id, external_reference, basket,
        failure_code, failure_detail, created_at, occurred_at, offline, offline_late, updated_at,
        authorized_at, captured_at, voided_at, expires_at)
    SELECT r.public_id, r.merchant_id, r.store_id, r.terminal_id, r.api_key_id,
        r.idempotency_key, r.customer_id, r.channel, r.status, r.amount_currency, r.amount,
        r.captured_amount_currency, r.captured_amount, r.refunded_amount_currency,
        r.refunded_amount, r.capture_requested, r.points_earned,
        (SELECT id FROM wallet_transfer WHERE public_id = (p->>'earn_transfer')::uuid),
        r.external_reference, r.basket, r.failure_code, r.failure_detail, r.created_at,
        r.occurred_at, r.offline, r.offline_late, r.updated_at, r.authorized_at, r.captured_at,
        r.voided_at, r.expires_at
    FROM jsonb_populate_record(NULL::payments_payment, p->'payment') AS r
    RETURNING id INTO new_payment;

    INSERT INTO payments_tender (public_id, payment_id, sequence, method, status,
        amount_currency, amount, captured_amount_currency, captured_amount,
        refunded_amount_currency, refunded_amount, points, gift_card_id, voucher_id,
        voucher_redemption_id, loyalty_account_id, bank_card_id, wallet_transfer_id,
        stripe_payment_method_id, stripe_payment_intent_id, stripe_charge_id,
        stripe_client_secret, external_reference, failure_code, failure_detail, disputed)
    SELECT r.public_id, new_payment, r.sequence, r.method, r.status, r.amount_currency,
        r.amount, r.captured_amount_currency, r.captured_amount, r.refunded_amount_currency,
        r.refunded_amount, r.points, r.gift_card_id, r.voucher_id, r.voucher_redemption_id,
        r.loyalty_account_id, r.bank_card_id,
        (SELECT id FROM wallet_transfer WHERE public_id = (x->>'transfer')::uuid),
        r.stripe_payment_method_id, r.stripe_payment_intent_id, r.stripe_charge_id,
        r.stripe_client_secret, r.external_reference, r.failure_code, r.failure_detail,
        r.disputed
    FROM jsonb_array_elements(p->'tenders') AS x,
        jsonb_populate_record(NULL::payments_tender, x) AS r;

    INSERT INTO payments_paymentevent (payment_id, tender_id, type, actor, data, created_at)
    VALUES (new_payment, NULL, p#>>'{event,type}', p#>>'{event,actor}', p#>'{event,data}', at);

    IF jsonb_typeof(p->'lot') = 'object' THEN
        INSERT INTO wallet_loyaltylot (account_id, transfer_id, points, expires_at, created_at)
        SELECT (p#>>'{lot,account_id}')::bigint, id, (p#>>'{lot,points}')::integer,
            (p#>>'{lot,expires_at}')::timestamptz, at
        FROM wallet_transfer WHERE public_id = (p->>'earn_transfer')::uuid;
    END IF;
    RETURN true;
END
$fn$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0010_french_labels"),
        ("wallet", "0007_french_labels"),
        ("merchants", "0003_french_labels"),
        ("customers", "0006_french_labels"),
    ]

    operations = [
        migrations.RunSQL(
            FUNCTION,
            reverse_sql=(
                "DROP FUNCTION IF EXISTS kassa_pos_sale(jsonb); "
                "DROP FUNCTION IF EXISTS kassa_texts(jsonb);"
            ),
        )
    ]
