"""The register rules of a district, read from ``reference_data/register.json``: how long a
transfer to another county waits for the receiving side, the deferral application window,
the longest suspension and the years a graduation certificate needs (each citing its rule)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from workflow.infra import reference_json


@dataclass(frozen=True)
class RegisterRules:
    transfer_receive_days: int
    deferral_window: tuple[tuple[int, int], tuple[int, int]]  # (month, day) from and to
    suspension_max_days: int
    compulsory_years: int

    def in_deferral_window(self, day: date) -> bool:
        """The guardian's written application is taken in early September (ST 2)."""
        start, end = self.deferral_window
        return start <= (day.month, day.day) <= end


def _month_day(text: str) -> tuple[int, int]:
    month, day = text.split("-")
    return int(month), int(day)


def _parse(row: dict[str, Any]) -> RegisterRules:
    return RegisterRules(
        transfer_receive_days=int(row["transfer_receive_days"]),
        deferral_window=(_month_day(row["deferral_window"]["from"]),
                         _month_day(row["deferral_window"]["to"])),
        suspension_max_days=int(row["suspension_max_days"]),
        compulsory_years=int(row["compulsory_years"]),
    )


# The district's own rules, else the defaults.
rules_for = reference_json.by_district("register.json", _parse)

