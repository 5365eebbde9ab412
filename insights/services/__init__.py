"""The insights app's services: catalogue, history import, events, offers, segments, campaigns."""

from insights.services.catalogue import (
    ProductData,
    payment_lines_record,
    payment_refunds_apply,
    products_sync,
    products_upsert,
    refunds_sync,
)
from insights.services.events import Event, EventsOutcome, events_count, events_record
from insights.services.history import (
    HistoryFileInvalid,
    ImportReport,
    history_import,
)
from insights.services.offers import offer_feedback_record, offers_train
from insights.services.segments import segments_evaluate, segments_learn

__all__ = [
    "Event",
    "EventsOutcome",
    "HistoryFileInvalid",
    "ImportReport",
    "ProductData",
    "events_count",
    "events_record",
    "history_import",
    "offer_feedback_record",
    "offers_train",
    "payment_lines_record",
    "payment_refunds_apply",
    "products_sync",
    "products_upsert",
    "refunds_sync",
    "segments_evaluate",
    "segments_learn",
]
