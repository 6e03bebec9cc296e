"""How long printing one document takes, per kind and district (target: 300 ms, so issuing
stays interactive).

    python -m bench.render [--runs 20]

Each kind every shipped district issues, as its specimen (``workflow/document/specimens.py``):
setting the PDF with Typst (fonts embedded) and signing it as the issuer (PAdES, pyHanko),
each timed apart. The first run of the process (loading the fonts, about 0.3 s) is reported
on its own line: a server pays it once, at its first document.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from pypdf import PdfReader

from bench.stats import row
from workflow.document import layout_for, specimens
from workflow.infra import pdf, signing
from workflow.ladder import templates

DISTRICTS = ("370406", "640502")


def _timed(work: Callable[..., bytes], *args: Any) -> tuple[float, bytes]:
    started = time.perf_counter()
    out = work(*args)
    return (time.perf_counter() - started) * 1000, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    signing.configure(tempfile.mkdtemp(prefix="lianbao-bench-keys-"), generate=True)
    pdf.use_font()
    first, _ = _timed(specimens.specimen_pdf, specimens.template_ladder("370406"),
                      "enrol_notice", "370406", "山亭区教育和体育局")
    print(f"first document of the process (fonts loaded): {first:.0f} ms\n")
    print("| district · kind | runs | p50 ms | p99 ms | set / sign p50 ms, pages |")
    print("|---|---|---|---|---|")
    names = {t["jurisdiction"]: t["code"] for t in templates().values()}
    for district in DISTRICTS:
        ladder = specimens.template_ladder(district)
        layout = layout_for(district, ladder)
        for kind in sorted(layout.cites):
            if not specimens.issuable(ladder, kind):
                continue
            total, set_ms, sign_ms = [], [], []
            who = signing.Signatory(0, district, "bench", "山亭区教育和体育局")
            printable = specimens.printable(ladder, kind, district, "山亭区教育和体育局")
            for _ in range(args.runs):
                t_set, raw = _timed(pdf.render, printable, date(2026, 11, 2))
                t_sign, _ = _timed(signing.sign, raw, who, "bench")
                set_ms.append(t_set)
                sign_ms.append(t_sign)
                total.append(t_set + t_sign)
            pages = len(PdfReader(io.BytesIO(raw)).pages)
            set_p50 = sorted(set_ms)[len(set_ms) // 2]
            sign_p50 = sorted(sign_ms)[len(sign_ms) // 2]
            print(row(f"{names[district]} · {kind}", total,
                      f"{set_p50:.1f} / {sign_p50:.1f}, {pages}"))


if __name__ == "__main__":
    main()
