"""Who may be a citizen's dependent: only a relative the civil registry's family register
confirms (as identity announced it when the citizen registered), with the relationship the
register records and its birth date; not the citizen; not a staff member; not a citizen with
their own account (they would have to consent, which is not offered yet); and in one household
at a time. Identity announces national IDs only as pseudonyms: the ID typed in is compared by
its pseudonym."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class RegisteredRelative:
    """A relative as the family register holds them, seen from the citizen."""

    relationship: str  # spouse, son, daughter, father, mother
    birth_date: date


@dataclass(frozen=True)
class PersonFacts:
    """What the profile service knows about the person a citizen claims as a dependent,
    loaded in the transaction that changes the household."""

    relative: RegisteredRelative | None  # None: not in the citizen's family register
    is_the_citizen: bool = False  # the citizen themself (compared by pseudonym)
    is_staff: bool = False
    has_own_account: bool = False
    in_another_household: bool = False
