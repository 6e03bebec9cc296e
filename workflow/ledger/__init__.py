"""The three ledgers (三个台账): 适龄儿童台账, 疑似辍学学生台账, 辍学学生台账 (docs/ledgers.md).

Nothing is stored for them: each is a query over the register, the deferrals, the cases and
the transfers (``status.py``), read under its own policy object (``access.py``) and exported
through the export route with its fixed columns (``rules.py``, ``reference_data/ledgers.json``).
"""

from workflow.ledger.query import (
    DropoutEntry,
    DropoutFilter,
    SchoolAgeEntry,
    SchoolAgeFilter,
    SuspectedEntry,
    SuspectedFilter,
    dropout_page,
    school_age_page,
    suspected_page,
)
from workflow.ledger.rules import LedgerKind, ledger
from workflow.ledger.status import LedgerStatus, SuspicionReason

__all__ = [
    "DropoutEntry",
    "DropoutFilter",
    "LedgerKind",
    "LedgerStatus",
    "SchoolAgeEntry",
    "SchoolAgeFilter",
    "SuspectedEntry",
    "SuspectedFilter",
    "SuspicionReason",
    "dropout_page",
    "ledger",
    "school_age_page",
    "suspected_page",
]
