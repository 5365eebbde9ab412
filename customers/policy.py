"""When may identification merge customers on its own? A policy decides; staff decide the rest.

A policy is any function from the customers a presentation matched to yes/no. It takes no
settings: callers pass another policy to `customer_identify` where a touchpoint warrants it.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from customers.models import Customer, Identifier


@dataclass(frozen=True)
class PresentedIdentifier:
    """An identifier as a touchpoint presents it; `verified` means it proved control just now.

    `scanned`: the physical loyalty card was read by the till's scanner (not typed), which makes
    the presentation strong for that customer's loyalty points (see `Strength`).
    """

    kind: str
    value: str
    verified: bool = False
    scanned: bool = False


@dataclass(frozen=True)
class IdentityLink:
    """A presented identifier that matched a stored one."""

    stored: Identifier
    presented: PresentedIdentifier

    @property
    def verified(self) -> bool:
        """Verified on both sides: on the customer's record and by the touchpoint now."""
        return self.stored.verified and self.presented.verified


@dataclass(frozen=True)
class CustomerMatch:
    """One customer a presentation reached, and through which identifiers."""

    customer: Customer
    links: tuple[IdentityLink, ...]

    @property
    def verified_links(self) -> int:
        return sum(link.verified for link in self.links)

    def rank(self) -> tuple[int, int, int]:
        """Best match first: most verified links, then most links, then the oldest customer."""
        return (-self.verified_links, -len(self.links), self.customer.pk)


MergePolicy = Callable[[Sequence[CustomerMatch]], bool]


def merge_on_verified_links(matches: Sequence[CustomerMatch]) -> bool:
    """The default: merge only if every customer is reached through a link verified on both sides.

    A typed phone number or email proves nothing about who stands at the till, so a presentation
    that reaches a customer only through unverified links is a conflict for a person to review.
    """
    return all(match.verified_links > 0 for match in matches)
