"""The register (学籍) as data that changes: children, guardians and enrolments
(``pupils``), register changes with request and approval (``changes``: transfers,
suspensions, graduation, vocational early leavers), deferrals and exemptions
(``deferrals``), the child's register history (``history``), the lists (``query``), the
district rules (``rules``) and the scheduled job (``scheduler``).

What other features use: ``deferred_child_ids`` / ``deferred`` (a valid deferral on a date:
the cross-checks leave those children out) and ``transfers_not_received`` /
``not_received`` (a transfer out with no transfer in: a suspected dropout).
"""

from workflow.register.changes import not_received, transfers_not_received
from workflow.register.deferrals import deferred, deferred_child_ids, valid_on

__all__ = ["deferred", "deferred_child_ids", "not_received", "transfers_not_received",
           "valid_on"]
