"""The customers app's own privacy handler: identifiers, consent, grants, codes, conflicts,
merges and the customer row itself."""

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Max, Q
from django.utils import timezone

from customers.errors import MergedIdentifiersChanged
from customers.models import (
    ConsentEvent,
    ConsentPurpose,
    Customer,
    CustomerAccessGrant,
    CustomerMerge,
    Identifier,
    IdentityConflict,
    PresentationCode,
)
from customers.privacy.contract import (
    REDACTED,
    CustomerDataHandler,
    ErasureContext,
    Moved,
    privacy_handler_register,
    rows_repoint,
)
from merchants.privacy import idempotency_records_redact


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


class CustomersPrivacy(CustomerDataHandler):
    app_label = "customers"
    order = 0
    references = frozenset(
        {
            ("customers.identifier", "customer"),
            ("customers.consentevent", "customer"),
            ("customers.customeraccessgrant", "customer"),
            ("customers.presentationcode", "customer"),
            ("customers.identityconflict", "customers"),
            ("customers.identityconflict", "best_match"),
            ("customers.customermerge", "survivor"),
            ("customers.customermerge", "absorbed"),
            ("customers.customer", "merged_into"),
            ("customers.customererasure", "customer"),
        }
    )
    # What a merge moves; the rest is history that stays where it is.
    _HOLDINGS = (
        (Identifier, "customer"),
        (ConsentEvent, "customer"),
        (CustomerAccessGrant, "customer"),
        (PresentationCode, "customer"),
    )

    # --- export --------------------------------------------------------------------------

    def export(self, *, customer: Customer) -> Mapping[str, Any]:
        return {
            "customer": {
                "id": str(customer.public_id),
                "first_name": customer.first_name,
                "last_name": customer.last_name,
                "created_at": _iso(customer.created_at),
                "absorbed_customers": [
                    str(pk)
                    for pk in Customer.objects.filter(merged_into=customer).values_list(
                        "public_id", flat=True
                    )
                ],
            },
            "identifiers": [
                {
                    "kind": row.kind,
                    "value": row.value,
                    "verified": row.verified,
                    "source_channel": row.source_channel,
                    "first_seen_at": _iso(row.first_seen_at),
                    "last_seen_at": _iso(row.last_seen_at),
                    "removed_at": _iso(row.removed_at),
                }
                for row in customer.identifiers.order_by("pk")
            ],
            "consent_events": self._consent_events(customer),
            "merges": [
                {
                    "id": str(merge.public_id),
                    "role": "survivor" if merge.survivor_id == customer.pk else "absorbed",
                    "source": merge.source,
                    "reason": merge.reason,
                    "created_at": _iso(merge.created_at),
                    "unmerged_at": _iso(merge.unmerged_at),
                    "moved": {move["model"]: len(move["pks"]) for move in merge.moved},
                }
                for merge in CustomerMerge.objects.filter(
                    Q(survivor=customer) | Q(absorbed=customer)
                ).order_by("pk")
            ],
            "access_grants": [
                {
                    "api_key": grant.api_key.prefix,
                    "granted_at": _iso(grant.granted_at),
                    "expires_at": _iso(grant.expires_at),
                    "loyalty_strong_until": _iso(grant.loyalty_strong_until),
                    "wallet_strong_until": _iso(grant.wallet_strong_until),
                }
                for grant in customer.access_grants.select_related("api_key").order_by("pk")
            ],
            "presentation_codes": [
                {  # never the code (only its HMAC is stored, and that is not exported either)
                    "sent_to": code.identifier.kind,
                    "created_at": _iso(code.created_at),
                    "expires_at": _iso(code.expires_at),
                    "used_at": _iso(code.used_at),
                    "attempts": code.attempts,
                }
                for code in customer.presentation_codes.select_related("identifier").order_by("pk")
            ],
            "identity_conflicts": [
                {
                    "status": conflict.status,
                    "channel": conflict.channel,
                    "presented": conflict.presented,
                    "occurrences": conflict.occurrences,
                    "created_at": _iso(conflict.created_at),
                    "resolved_at": _iso(conflict.resolved_at),
                }
                for conflict in customer.identity_conflicts.order_by("pk")
            ],
        }

    def _consent_events(self, customer: Customer) -> Iterator[dict[str, Any]]:
        for event in customer.consent_events.order_by("recorded_at", "pk").iterator():
            yield {
                "purpose": event.purpose,
                "granted": event.granted,
                "channel": event.channel,
                "evidence": event.evidence,
                "recorded_at": _iso(event.recorded_at),
            }

    # --- merge ---------------------------------------------------------------------------

    def merge(self, *, absorbed: Customer, survivor: Customer) -> list[Moved]:
        moved = []
        for model, field in self._HOLDINGS:
            move = rows_repoint(model, field, old=absorbed.pk, new=survivor.pk)
            if move is not None:
                moved.append(move)
        return moved

    def unmerge_check(
        self, *, merge: CustomerMerge, moved: list[dict[str, Any]], survivor: Customer
    ) -> None:
        for move in moved:
            if move["model"] != "customers.identifier":
                continue
            rows = Identifier.objects.filter(pk__in=move["pks"])
            if (
                rows.count() != len(move["pks"])
                or rows.exclude(customer=survivor).exists()
                or rows.filter(removed_at__gt=merge.created_at).exists()
            ):
                raise MergedIdentifiersChanged
        super().unmerge_check(merge=merge, moved=moved, survivor=survivor)

    # --- erasure -------------------------------------------------------------------------

    def erase(self, *, context: ErasureContext) -> dict[str, Any]:
        from customers.services.consent import derived_data_delete

        customer = context.customer
        people = [
            customer.pk,
            *Customer.objects.filter(merged_into=customer).values_list("pk", flat=True),
        ]
        derived = derived_data_delete(customer=customer, purposes=list(ConsentPurpose.values))
        codes, _ = PresentationCode.objects.filter(customer_id__in=people).delete()
        grants, _ = CustomerAccessGrant.objects.filter(customer_id__in=people).delete()
        identifiers, _ = Identifier.objects.filter(customer_id__in=people).delete()
        # Proof of consent stays (purpose, choice, channel, time); the evidence may identify.
        consents = (
            ConsentEvent.objects.filter(customer_id__in=people)
            .exclude(evidence=REDACTED)
            .update(evidence=REDACTED)
        )
        conflicts = 0
        for conflict in (
            IdentityConflict.objects.select_for_update(of=("self",))
            .filter(pk__in=IdentityConflict.objects.filter(customers__in=people).values("pk"))
            .order_by("pk")
        ):
            self._erase_conflict(conflict, context=context, erased=set(people))
            conflicts += 1
        for merge in (
            CustomerMerge.objects.select_for_update(of=("self",))
            .filter(Q(survivor_id__in=people) | Q(absorbed_id__in=people))
            .order_by("pk")
        ):
            merge.reason = context.redact(merge.reason)
            merge.unmerge_reason = context.redact(merge.unmerge_reason)
            merge.save(update_fields=["reason", "unmerge_reason"])
        admin_log = self._erase_admin_log(people, context=context)
        answers = idempotency_records_redact(
            merchant_id=customer.merchant_id, needles=context.needles, redact=context.redact_json
        )
        now = timezone.now()
        Customer.objects.filter(pk__in=people).update(
            first_name="", last_name="", erased_at=now, updated_at=now
        )
        customer.first_name = customer.last_name = ""
        customer.erased_at = now
        return {
            "customers": len(people),
            "identifiers_deleted": identifiers,
            "consent_events_kept_without_evidence": consents,
            "access_grants_deleted": grants,
            "presentation_codes_deleted": codes,
            "identity_conflicts_redacted": conflicts,
            "admin_log_entries_redacted": admin_log,
            "idempotent_answers_redacted": answers,
            "derived_data_deleted": derived,
        }

    @staticmethod
    def _erase_conflict(
        conflict: IdentityConflict, *, context: ErasureContext, erased: set[int]
    ) -> None:
        """Presented values stay only where they are another party's live identifier."""
        others = set(
            Identifier.objects.filter(
                customer_id__in=conflict.customers.exclude(pk__in=erased).values("pk"),
                removed_at__isnull=True,
            ).values_list("kind", "value")
        )
        conflict.presented = [
            item if (item.get("kind"), item.get("value")) in others else {**item, "value": REDACTED}
            for item in conflict.presented
        ]
        conflict.resolution_note = context.redact(conflict.resolution_note)
        fields = ["presented", "resolution_note"]
        if conflict.status == IdentityConflict.Status.OPEN:
            conflict.status = IdentityConflict.Status.DISMISSED
            conflict.resolved_at = timezone.now()
            conflict.resolved_by = context.actor
            conflict.resolution_note = "a customer in this conflict was erased"
            fields += ["status", "resolved_at", "resolved_by"]
        conflict.save(update_fields=fields)

    @staticmethod
    def _erase_admin_log(people: list[int], *, context: ErasureContext) -> int:
        content_type = ContentType.objects.get_for_model(Customer)
        entries = LogEntry.objects.filter(
            content_type=content_type, object_id__in=[str(pk) for pk in people]
        )
        count = 0
        for entry in entries:
            entry.object_repr = f"customer #{entry.object_id} (erased)"
            entry.change_message = context.redact(entry.change_message)
            entry.save(update_fields=["object_repr", "change_message"])
            count += 1
        return count

    # --- activity ------------------------------------------------------------------------

    def last_activity(self, *, customer: Customer) -> datetime | None:
        seen = customer.identifiers.aggregate(at=Max("last_seen_at"))["at"]
        consent = customer.consent_events.aggregate(at=Max("recorded_at"))["at"]
        moments = [m for m in (seen, consent, customer.updated_at) if m is not None]
        return max(moments) if moments else None


privacy_handler_register(CustomersPrivacy())
