"""One input-checking layer for every argument, before any resolver runs.

Two parts, both installed by ``schema.root.build_schema``:

- ``SCALAR_OVERRIDES``: ``Date`` and ``DateTime`` parse strictly (``YYYY-MM-DD``, a real
  calendar day; a date-time with its UTC offset, since a naive time means a different instant
  on each server) and refuse with a message that names the format, not a Python exception.
- ``guard_inputs``: wraps the resolver of every field that takes arguments, so each string
  sent (inline or in variables, at any depth of an input object or list) is checked once:
  no NUL byte or unpaired surrogate (PostgreSQL cannot store them, and SQLite's ``LIKE``
  treats a NUL as the end of the pattern), and no longer than its field's purpose allows
  (``TEXT_LIMITS``). ``JSON`` values get the same string check and a size limit.

Why at the resolver boundary of the GraphQL schema, not in each service: it is one place that
sees every argument of every field, including fields added later, and it runs before the
service touches the database, so nothing is written for a refused input.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
)
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.types.scalar import ScalarDefinition

from workflow.errors import InvalidInput, TextTooLong

# --- dates and times -----------------------------------------------------------------------

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})", re.IGNORECASE
)


def _isoformat(value: dt.date) -> str:
    return value.isoformat()


def _parsed(value: object, scalar: str, pattern: re.Pattern[str], expected: str,
            parse: Callable[[str], Any]) -> Any:
    """``parse(value)`` once ``value`` matches ``pattern``; a refusal naming the format
    (``expected``) or the impossible day, never a Python exception's text."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise StrawberryInputCoercionError(
            f"Value cannot represent a {scalar}: {json.dumps(value, ensure_ascii=False)}. "
            f"Expected {expected}."
        )
    try:
        return parse(value)
    except ValueError:
        raise StrawberryInputCoercionError(
            f"Value cannot represent a {scalar}: {value!r} is not a "
            f"{'day' if scalar == 'Date' else 'time'} of the calendar."
        ) from None


def parse_date(value: object) -> dt.date:
    """``YYYY-MM-DD`` naming a real day; ``2026-02-30`` is refused, not a crash."""
    day: dt.date = _parsed(value, "Date", _DATE, "YYYY-MM-DD", dt.date.fromisoformat)
    return day


def parse_datetime(value: object) -> dt.datetime:
    """ISO 8601 with an offset (``2026-11-02T08:00:00+08:00`` or ``…Z``)."""
    parsed: dt.datetime = _parsed(
        value, "DateTime", _DATETIME,
        "ISO 8601 with a UTC offset, e.g. 2026-11-02T08:00:00+08:00",
        lambda v: dt.datetime.fromisoformat(v.upper().replace("Z", "+00:00")),
    )
    if parsed.tzinfo is None:  # the pattern requires an offset; kept as a second guard
        raise StrawberryInputCoercionError("Value cannot represent a DateTime: no UTC offset.")
    return parsed


# Same names and descriptions as strawberry's built-ins, so the SDL does not change.
SCALAR_OVERRIDES: dict[object, Any] = {
    origin: ScalarDefinition(
        name=name, description=description, specified_by_url=None, serialize=_isoformat,
        parse_value=parse, parse_literal=None, origin=origin,
    )
    for origin, name, description, parse in (
        (dt.date, "Date", "Date (isoformat)", parse_date),
        (dt.datetime, "DateTime", "Date with time (isoformat)", parse_datetime),
    )
}

# --- free text -----------------------------------------------------------------------------

CODE = 64  # codes and kinds: jurisdictionCode, role, kind, stepCode, creditCode, username
KEY = 128  # idempotency keys, content types, ids and cursors
NAME = 200  # a person's or an organisation's name, a title, a file name
ADDRESS = 500  # a postal address; the people present at a visit
TEXT = 4000  # a note, a reason, a plan's measures, a summary
FACTS = 4000  # the statement of facts in a legal document (the services say the same)
JSON_SIZE = 20_000  # an evidence object, serialised
DEFAULT_TEXT = NAME  # any string input not named below

# By GraphQL input-field or argument name: the same name means the same purpose in every
# input type (``note`` is a note wherever it appears).
TEXT_LIMITS: dict[str, int] = {
    # codes, kinds, keys
    "act": CODE, "caseKind": CODE, "creditCode": CODE, "destinationCode": CODE,
    "documentKind": CODE, "effect": CODE, "jurisdictionCode": CODE, "kind": CODE,
    "method": CODE, "nationalId": CODE, "obj": CODE, "operation": CODE, "parentCode": CODE,
    "recordType": CODE, "role": CODE, "sha256": CODE, "stage": CODE, "stepCode": CODE,
    "takenAt": CODE, "template": CODE, "townshipCode": CODE, "username": CODE,
    "after": KEY, "before": KEY, "contentType": KEY, "idempotencyKey": KEY,
    "policeReference": KEY, "search": KEY,
    "domain": NAME,
    # names
    "addressee": NAME, "childName": NAME, "displayName": NAME, "filename": NAME,
    "legalRepresentative": NAME, "name": NAME, "officerName": NAME,
    "responsiblePerson": NAME, "servedTo": NAME, "source": NAME, "title": NAME,
    # addresses and lists of people
    "address": ADDRESS, "participants": ADDRESS, "work": ADDRESS,
    # prose
    "conditions": TEXT, "description": TEXT, "measures": TEXT, "note": TEXT,
    "outcome": TEXT, "reason": TEXT, "summary": TEXT, "text": TEXT,
    "facts": FACTS,
}


def text_limit(name: str) -> int:
    return TEXT_LIMITS.get(name, DEFAULT_TEXT)


def check_text(value: str, field: str, limit: int) -> None:
    if len(value) > limit:
        raise TextTooLong(
            f"{field} may be at most {limit} characters", field=field, limit=limit,
            length=len(value),
        )
    if "\x00" in value:
        raise InvalidInput(f"{field} contains a NUL character", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{field} is not valid Unicode text", field=field) from None


def _check_json(value: object, field: str) -> None:
    try:
        size = len(json.dumps(value, ensure_ascii=False))
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} is not a JSON value", field=field) from None
    if size > JSON_SIZE:
        raise TextTooLong(
            f"{field} may be at most {JSON_SIZE} characters of JSON", field=field,
            limit=JSON_SIZE, length=size,
        )
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            check_text(item, field, JSON_SIZE)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def check_value(value: Any, type_: GraphQLInputType, field: str) -> None:
    """Walk one coerced argument value along its GraphQL input type."""
    if value is None:
        return
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if isinstance(type_, GraphQLList):
        items = value if isinstance(value, list) else [value]
        for item in items:
            check_value(item, type_.of_type, field)
    elif isinstance(type_, GraphQLInputObjectType):
        if isinstance(value, dict):
            for name, sub in type_.fields.items():
                if name in value:
                    check_value(value[name], sub.type, name)
    elif isinstance(type_, GraphQLScalarType):
        if type_.name == "JSON":
            _check_json(value, field)
        elif isinstance(value, str):
            check_text(value, field, text_limit(field))


def _guarded(
    resolve: Callable[..., Any], args: dict[str, GraphQLArgument]
) -> Callable[..., Any]:
    def resolve_checked(source: Any, info: Any, **kwargs: Any) -> Any:
        for name, value in kwargs.items():
            argument = args.get(name)
            if argument is not None:
                check_value(value, argument.type, name)
        return resolve(source, info, **kwargs)

    return resolve_checked


def guard_inputs(schema: GraphQLSchema) -> None:
    """Install the checks on every field with arguments (once, when the schema is built).
    Fields without arguments keep their resolver untouched, so reads pay nothing."""
    for named in schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for field in named.fields.values():
            field_def: GraphQLField = field
            if field_def.args and field_def.resolve is not None:
                field_def.resolve = _guarded(field_def.resolve, field_def.args)
