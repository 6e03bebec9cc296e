"""Database faults a client can retry, told apart from bugs.

A serialisation failure, a deadlock victim, a lock or statement timeout, a transaction the
server killed, a database that cannot be reached: none is a defect in the request, and
reporting them as ``INTERNAL`` makes clients give up on work that would succeed a moment
later. ``classify`` maps an exception (SQLAlchemy's wrapper, the driver's error, or the pool's
timeout) to a ``Fault`` with a stable code; the GraphQL layer sends it as
``extensions.code`` with ``extensions.retryable: true`` (``schema/errors.py``), and
``schema/mutation.run`` retries a whole mutation once in the server when PostgreSQL
guarantees the transaction was rolled back (``retry_in_server``).

SQLSTATE codes: PostgreSQL manual, appendix A "PostgreSQL Error Codes".
"""

from __future__ import annotations

import socket
import sqlite3
from dataclasses import dataclass

from sqlalchemy import exc as sa_exc


@dataclass(frozen=True)
class Fault:
    code: str
    message: str
    # True only where the database has rolled the whole transaction back and says so: running
    # the mutation again cannot apply it twice.
    retry_in_server: bool = False
    retryable: bool = True


SERIALIZATION_FAILURE = Fault(
    "SERIALIZATION_FAILURE", "a concurrent change conflicted with this one; retry", True
)
DEADLOCK = Fault("DEADLOCK", "the database broke a deadlock by cancelling this change; retry", True)
LOCK_TIMEOUT = Fault("LOCK_TIMEOUT", "the record is locked by another change; retry shortly")
STATEMENT_TIMEOUT = Fault(
    "STATEMENT_TIMEOUT", "the database took too long and cancelled the request; retry later"
)
TRANSACTION_ABORTED = Fault(
    "TRANSACTION_ABORTED", "the database ended the transaction; nothing was saved; retry"
)
DATABASE_UNAVAILABLE = Fault(
    "DATABASE_UNAVAILABLE", "the database is unavailable at the moment; retry shortly"
)

# SQLSTATE → fault. Class 08 (connection exception) and 53 (insufficient resources) are
# matched by prefix below.
_BY_SQLSTATE: dict[str, Fault] = {
    "40001": SERIALIZATION_FAILURE,  # serialization_failure
    "40P01": DEADLOCK,  # deadlock_detected
    "55P03": LOCK_TIMEOUT,  # lock_not_available (lock_timeout, NOWAIT)
    "57014": STATEMENT_TIMEOUT,  # query_canceled (statement_timeout)
    "25P03": TRANSACTION_ABORTED,  # idle_in_transaction_session_timeout
    "25P04": TRANSACTION_ABORTED,  # transaction_timeout
    "57P01": TRANSACTION_ABORTED,  # admin_shutdown (pg_terminate_backend)
    "57P02": TRANSACTION_ABORTED,  # crash_shutdown
    "57P03": DATABASE_UNAVAILABLE,  # cannot_connect_now (starting up, recovering)
}
_BY_CLASS: dict[str, Fault] = {"08": DATABASE_UNAVAILABLE, "53": DATABASE_UNAVAILABLE}


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        if isinstance(current, sa_exc.DBAPIError) and current.orig is not None:
            current = current.orig
        else:
            current = current.__cause__ or current.__context__
    return seen


def sqlstate(error: BaseException) -> str | None:
    for item in _chain(error):
        state = getattr(item, "sqlstate", None) or getattr(item, "pgcode", None)
        if isinstance(state, str) and state:
            return state
    return None


def _unreachable(error: BaseException) -> bool:
    """A failure to reach the server: refused, reset, unresolvable, or asyncpg's combined
    "Connect call failed" for several addresses. Other ``OSError``s (a missing file, an
    asyncio timeout) are not database faults."""
    if isinstance(error, (ConnectionError, socket.gaierror)):
        return True
    return type(error) is OSError and "Connect call failed" in str(error)


# SQLite reports faults in the statement itself (an unmigrated table, a misspelt column) as
# OperationalError too, where PostgreSQL says ProgrammingError: those are bugs, not outages.
_SQLITE_STATEMENT_ERRORS = ("no such table", "no such column", "no such function", "syntax error",
                            "near \"", "table ", "index ")


def _sqlite_unreachable(error: BaseException) -> bool:
    """SQLite's connection-level failures (a missing or unreadable file) have no SQLSTATE."""
    orig = error.orig if isinstance(error, sa_exc.OperationalError) else None
    if orig is None or type(orig).__module__ != "sqlite3":
        return False
    message = str(orig).lower()
    return "locked" not in message and not message.startswith(_SQLITE_STATEMENT_ERRORS)


def is_database_unavailable(error: BaseException) -> bool:
    """For the HTTP edge, whose only work is the database's (loading the principal, writing
    the access log, streaming a PDF): any retryable fault answers a 503, and so does a timeout
    while connecting, which asyncpg raises as a bare ``TimeoutError``. In resolvers
    ``classify`` decides alone: there a bare timeout may be a bug of ours."""
    return classify(error) is not None or any(isinstance(e, TimeoutError) for e in _chain(error))


def classify(error: BaseException) -> Fault | None:
    """The fault ``error`` stands for, or None when it is not a database fault (a bug)."""
    chain = _chain(error)
    state = sqlstate(error)
    if state is not None and any(isinstance(e, sa_exc.DBAPIError) for e in chain):
        return _BY_SQLSTATE.get(state) or _BY_CLASS.get(state[:2])
    for item in chain:
        if isinstance(item, sa_exc.TimeoutError):  # no pooled connection within pool_timeout
            return DATABASE_UNAVAILABLE
        if isinstance(item, sqlite3.OperationalError) and "locked" in str(item):
            return LOCK_TIMEOUT  # SQLite's busy_timeout ran out
        if _sqlite_unreachable(item):
            return DATABASE_UNAVAILABLE
        if isinstance(item, sa_exc.DBAPIError) and item.connection_invalidated:
            return DATABASE_UNAVAILABLE
        if _unreachable(item):
            return DATABASE_UNAVAILABLE
        if isinstance(item, sa_exc.InterfaceError) and "closed" in str(item):
            return DATABASE_UNAVAILABLE  # the connection went away under the request
    return None
