"""Global ids: decoded in one place, refused with one error.

Every id a client sends (``node``, ``nodes`` and every ``…Id`` input) comes through here, so
garbage (``""``, ``"abc"``, ``Child:abc``), a type that does not exist (``Nope:1``) or is not a
record (``Query:1``), and numbers the database cannot hold (PostgreSQL ``integer`` overflows
at 2**31) are answered ``BAD_INPUT`` on the field instead of reaching SQL as a fault.
"""

from __future__ import annotations

import strawberry
from strawberry import relay

from models.base import MAX_INT_KEY
from workflow.errors import InvalidInput


def db_int(raw: str, what: str, field: str) -> int:
    """A database key written as decimal text; ``BAD_INPUT`` on ``field`` unless it is a
    positive integer the key columns can hold (no sign, no spaces, no underscores)."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        raise InvalidInput(f"not a {what} id", field=field)
    value = int(raw)
    if not 0 < value <= MAX_INT_KEY:
        raise InvalidInput(f"not a {what} id", field=field)
    return value


def parse_global_id(gid: str, field: str) -> relay.GlobalID:
    """The decoded id (type name and key), or ``BAD_INPUT`` on ``field``."""
    try:
        parsed = relay.GlobalID.from_id(gid)
    except (ValueError, TypeError) as exc:
        raise InvalidInput("not a valid id", field=field) from exc
    db_int(parsed.node_id, parsed.type_name or "valid", field)
    return parsed


def node_id(gid: strawberry.ID, type_name: str, field: str) -> int:
    """The database id inside a Relay global id of ``type_name``; BAD_INPUT on ``field``
    for anything else (another type's id, garbage, a number out of the key range)."""
    parsed = parse_global_id(gid, field)
    if parsed.type_name != type_name:
        raise InvalidInput(f"not a {type_name} id", field=field)
    return int(parsed.node_id)


def optional_node_id(gid: strawberry.ID | None, type_name: str, field: str) -> int | None:
    """``node_id`` for an optional id: absent (null) is None; anything sent, even ``""``, is
    decoded, so a malformed filter is refused instead of silently dropped."""
    return None if gid is None else node_id(gid, type_name, field)


def global_or_raw_id(
    gid: strawberry.ID | None, raw: int | None, type_name: str, field: str
) -> int | None:
    """The key an input names by its global id (``field``), or by the deprecated raw key
    beside it while clients move over (``schoolId``, ``grantId``); BAD_INPUT on ``field`` when
    both are sent and disagree. None when neither is."""
    key = optional_node_id(gid, type_name, field)
    if key is not None and raw is not None and key != raw:
        raise InvalidInput(f"{field} and its deprecated raw id name different records",
                           field=field)
    return raw if key is None else key


def school_filter() -> strawberry.ID | None:
    """A list filter's ``school`` field: the School's global id (its raw twin is
    ``raw_school_filter``; ``listing(..., raw={"school": "school_id"})`` merges the two)."""
    return strawberry.field(default=None, description="The School's global id.")  # type: ignore[no-any-return]


def raw_school_filter() -> int | None:
    """A list filter's deprecated ``schoolId`` field, beside ``school_filter``."""
    return strawberry.field(  # type: ignore[no-any-return]
        default=None, deprecation_reason="A raw database key: use school, the School's global id."
    )
