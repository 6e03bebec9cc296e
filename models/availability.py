"""Telling "the database cannot be reached" apart from a fault, wherever it surfaces.

The HTTP edge (loading the principal), the error coder (a resolver's query) and the access log
all meet the same failures when the database is down; each answers a retryable 503
``DATABASE_UNAVAILABLE`` instead of a 500, so clients and load balancers can back off and retry.
"""

from __future__ import annotations

import errno
import socket

from sqlalchemy import exc as sa_exc

_NETWORK_ERRNOS = frozenset(
    {errno.ECONNREFUSED, errno.ECONNRESET, errno.EHOSTUNREACH, errno.ENETUNREACH,
     errno.ETIMEDOUT, errno.EPIPE}
)


def is_database_unavailable(error: BaseException) -> bool:
    """Whether an exception means "the database cannot be reached right now" (refused or lost
    connection, missing SQLite file, pool exhausted, timeout), as opposed to a bug.

    SQLAlchemy wraps driver errors: ``OperationalError`` / ``InterfaceError`` are the DBAPI's
    classes for connection-level failures, and a connection lost mid-statement is flagged
    ``connection_invalidated``. While connecting, asyncpg lets socket errors escape unwrapped
    (``ConnectionRefusedError``, DNS failure, "Multiple exceptions" for several addresses), so
    network-level ``OSError`` instances count too, but not file errors, which are faults of ours.
    """
    current: BaseException | None = error
    for _ in range(8):  # follow explicit causes only: a bug raised while handling is a bug
        if current is None:
            return False
        if isinstance(current, sa_exc.DBAPIError) and (
            current.connection_invalidated
            or (
                isinstance(current, sa_exc.OperationalError | sa_exc.InterfaceError)
                and not _is_statement_error(current)
            )
        ):
            return True
        if isinstance(current, sa_exc.TimeoutError | ConnectionError | TimeoutError):
            return True
        if isinstance(current, socket.gaierror) or (
            type(current) is OSError and (current.errno in _NETWORK_ERRNOS or current.errno is None)
        ):
            return True
        current = current.__cause__
    return False


# SQLite reports faults in the statement itself (an unmigrated table, a misspelt column) as
# OperationalError too, where PostgreSQL says ProgrammingError; those are faults, not outages.
_SQLITE_STATEMENT_ERRORS = ("no such table", "no such column", "no such function", "syntax error",
                            "near \"", "table ", "index ")


def _is_statement_error(error: sa_exc.DBAPIError) -> bool:
    message = str(error.orig).lower()
    return type(error.orig).__module__ == "sqlite3" and message.startswith(_SQLITE_STATEMENT_ERRORS)
