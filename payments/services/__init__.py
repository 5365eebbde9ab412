"""The split-tender engine, one module per step of a payment's life.

A payment is created in phases that commit separately, so no Stripe call ever happens while a
row lock is held and a crash at any point leaves a state `recovery.payment_recover` can finish
or roll back:

1. plan — resolve every instrument and plan the tenders (pure, `payments.planning`), no writes;
2. hold — one transaction: the Payment (`authorizing`), its Tenders, every stored-value hold and
   voucher reservation, rows locked in the canonical order (payment, ledger accounts, vouchers);
3. authorise — card tenders at Stripe, outside any transaction: the PaymentIntent id is stored
   first, then confirmed (see `payments.stripe_gateway`);
4. outcome — one transaction: all good → `authorized` (and captured at once when asked);
   anything failed → every PaymentIntent cancelled, every hold voided → `failed`; a card that
   needs 3-D Secure → `requires_action`, holds kept, until `authentication.payment_confirm` (or
   Stripe's webhook) concludes it or recovery voids it after a time-out.

Capture, void and refund follow the same pattern: mark the intent in the database, talk to
Stripe, then settle the ledger; the intermediate states are `capturing` and `voiding`.

`create` (steps 1 and 2, and the sale captured at once), `authorize` (steps 3 and 4),
`authentication` (3-D Secure), `capture`, `void`, `refund` and `recovery`;
`common` holds the requests and what several steps share (releasing a payment whole).
"""
