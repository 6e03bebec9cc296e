"""Global ids in mutation inputs: decoded in one place, refused with one error."""

from __future__ import annotations

import strawberry
from strawberry import relay

from workflow.errors import InvalidInput


def node_id(gid: strawberry.ID, type_name: str, field: str) -> int:
    """The database id inside a Relay global id of ``type_name``; BAD_INPUT on ``field``
    for anything else (another type's id, garbage)."""
    try:
        parsed = relay.GlobalID.from_id(gid)
        if parsed.type_name != type_name:
            raise ValueError(parsed.type_name)
        return int(parsed.node_id)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"not a {type_name} id", field=field) from exc
