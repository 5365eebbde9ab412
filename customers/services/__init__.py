"""Writes to the identity graph, one module per area, re-exported here:
identification (identify, access grants, identifiers), merge (merge, unmerge, conflicts),
consent (recording, `consent_allows`, derived data deleters), erasure and retention."""

from customers.services.access import (
    ACCESS_GRANT_TTL,
    STRONG_PRESENTATION_TTL,
    customer_access_grant,
    identifier_remove,
)
from customers.services.consent import (
    consent_allows,
    consent_allows_sql,
    consent_record,
    derived_data_delete,
    derived_data_deleter_register,
)
from customers.services.erasure import (
    customer_erase,
    customer_erasure_finish,
    customer_erasures_finish_pending,
    customer_stored_value,
)
from customers.services.identification import (
    MAX_IDENTIFY_ATTEMPTS,
    Identification,
    IdentifiedIdentifier,
    IdentifierStatus,
    Outcome,
    api_key_actor,
    customer_identify,
    identifiers_normalise,
    user_actor,
)
from customers.services.merge import (
    customer_merge,
    customer_unmerge,
    identity_conflict_resolve,
    merge_locked,
)
from customers.services.retention import customers_erase_inactive, customers_retention_purge

__all__ = [
    "ACCESS_GRANT_TTL",
    "MAX_IDENTIFY_ATTEMPTS",
    "STRONG_PRESENTATION_TTL",
    "Identification",
    "IdentifiedIdentifier",
    "IdentifierStatus",
    "Outcome",
    "api_key_actor",
    "consent_allows",
    "consent_allows_sql",
    "consent_record",
    "customer_access_grant",
    "customer_erase",
    "customer_erasure_finish",
    "customer_erasures_finish_pending",
    "customer_identify",
    "customer_merge",
    "customer_stored_value",
    "customer_unmerge",
    "customers_erase_inactive",
    "customers_retention_purge",
    "derived_data_delete",
    "derived_data_deleter_register",
    "identifier_remove",
    "identifiers_normalise",
    "identity_conflict_resolve",
    "merge_locked",
    "user_actor",
]
