"""Customer models: the customer and its identifiers, consents, merges and erasures.

One module per area; every model is re-exported here, so `from customers.models import X` works
and Django finds the models when it imports the app's `models`.
"""

from customers.models.customers import Customer, CustomerAccessGrant, Strength
from customers.models.identifiers import Channel, Identifier, PresentationCode
from customers.models.merges import CustomerMerge, IdentityConflict
from customers.models.privacy import ConsentEvent, ConsentPurpose, CustomerErasure

__all__ = [
    "Channel",
    "ConsentEvent",
    "ConsentPurpose",
    "Customer",
    "CustomerAccessGrant",
    "CustomerErasure",
    "CustomerMerge",
    "Identifier",
    "IdentityConflict",
    "PresentationCode",
    "Strength",
]
