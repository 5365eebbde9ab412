"""Every input has a limit: the one place that says how big a request may be.

The API refuses anything above these with a 4xx and a stable code (docs/api.md lists them).
Amount maxima stay well inside the database columns (NUMERIC(14, 2) and friends), so a value
the API accepts can always be stored.
"""

from decimal import Decimal

# Money: one amount (a payment, a tender, a reload, a refund, a basket line's price).
MAX_AMOUNT = Decimal("999999.99")
# A basket line's quantity, and points in one request (a points tender, an adjustment).
MAX_QUANTITY = 9999
MAX_POINTS = 100_000_000

# Sizes of one request.
MAX_TENDERS_PER_PAYMENT = 20
MAX_BASKET_LINES = 500
MAX_IDENTIFIERS_PER_REQUEST = 10
MAX_EVENTS_PER_BATCH = 500
MAX_REFUND_ALLOCATIONS = MAX_TENDERS_PER_PAYMENT
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 25
MAX_JSON_DEPTH = 32
# Bytes of one request body (Django's DATA_UPLOAD_MAX_MEMORY_SIZE is set from it).
MAX_REQUEST_BODY_BYTES = 256 * 1024
# Characters of a free-text field (reason, reference, note) unless a field says less.
MAX_TEXT_LENGTH = 500
# Customer knowledge: customers one clustering run fits, members one campaign draws.
MAX_CLUSTER_CUSTOMERS = 20_000
MAX_CAMPAIGN_MEMBERS = 100_000
