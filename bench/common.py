"""What the benchmarks share: the bench database and the command line every one of them
reads (its database URL and its own sizes, counts and switches)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/lianbao_bench"


def parse_args(doc: str | None, url: str = DEFAULT_URL, help: Mapping[str, str] = {},
               **defaults: object) -> argparse.Namespace:
    """The benchmark's arguments: ``--url`` (``url``, the bench database) and one option per
    keyword, ``--export-code`` for ``export_code``, read as the type of its default (a
    ``False`` default is a switch), with its ``help``; the description is the first line of
    the module's ``doc``."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    parser.add_argument("--url", default=url)
    for name, default in defaults.items():
        flag = "--" + name.replace("_", "-")
        if default is False:
            parser.add_argument(flag, action="store_true", help=help.get(name))
        else:
            parser.add_argument(flag, type=type(default), default=default, help=help.get(name))
    return parser.parse_args()
