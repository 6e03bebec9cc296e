"""The error the pure validators raise (``id_number.py``, ``uscc.py``).

One class for both, so the services that turn a failed check into a ``userErrors`` entry
handle every standard the same way: ``reason`` is the machine-readable cause (``length``,
``checksum``, …), the message says it in words.
"""

from __future__ import annotations


class InvalidValue(ValueError):
    """A value that fails the rule of its standard (GB 11643, GB 32100)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
