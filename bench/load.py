"""Load run with ``wrk``: Lianbao's GraphQL endpoint, normal and persisted, against the
hand-written floors.

    python -m bench.generate            # 2,000,000 children, 200,000 cases, 500,000 tasks
    python -m bench.load [--duration 10] [--connections 16] [--rounds 3] [--only persuasion]
                         [--spy var/spy]    # py-spy stacks of the Lianbao worker per run

One uvicorn worker (Lianbao) and one floor worker (``bench/floor.py``), both pinned to core
1, wrk pinned to core 0 (``taskset``), one scenario at a time, in interleaved rounds (every
scenario once per round, so a busy moment of the shared machine hits every side): (a) a page
of 50 tasks with case, child and school, as a township's, a district's and the province's
officer; (b) a case with its timeline; (c) recording a persuasion attempt. Each scenario is
the front-end's shipped operation (``workflow/reference_data/persisted/``) sent three ways:
as text (``Lianbao``, the normal path), by its hash alone (``persisted``: the planned
statement for (a) and (b), the planned mutation for (c): its service without GraphQL
execution), and to the floor.
Before measuring, each officer's floor page is checked against Lianbao's (count, tasks,
masked names) and the persisted page and case against the normal ones, byte for byte.
Prints the medians of p50/p99 latency and requests per second, each side's ratio to the
floor, the load average, and each worker's resident memory. ``wrk`` is Debian's package.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from api.auth import issue_dev_token
from api.settings import Settings
from bench.common import DEFAULT_URL
from bench.generate import add_officers, dsn
from workflow.infra import reference_json

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-" + "b" * 32

def _operation(name: str) -> tuple[str, str]:
    """A shipped operation's text and hash (the manifest of api/persisted.py)."""
    text = reference_json.path(f"persisted/{name}.graphql").read_text(encoding="utf-8")
    return text, hashlib.sha256(text.encode()).hexdigest()


# The front-end's operations, sent as text (the normal path) or by their hash alone
# (persisted: AgencyQueue and CaseTimeline are answered by their planned statement,
# RecordPersuasion by its service in the mutation's transaction, without GraphQL execution).
(TASK_PAGE, TASK_PAGE_HASH), (CASE_TIMELINE, CASE_TIMELINE_HASH), (PERSUADE, PERSUADE_HASH) = (
    _operation(n) for n in ("AgencyQueue", "CaseTimeline", "RecordPersuasion"))
SIDES = ("Lianbao", "persisted", "floor")


def _bodies(text: str, digest: str, variables: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {"Lianbao": {"query": text, "variables": variables},
            "persisted": {"variables": variables,
                          "extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _pin(core: int) -> list[str]:
    return ["taskset", "-c", str(core)] if shutil.which("taskset") else []


def _start(args: list[str], env: dict[str, str], ready: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([*_pin(1), *args], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(ready, timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"{args} did not start")


def _lua(path: Path, body: dict[str, Any], token: str) -> None:
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(json.dumps(body))}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
    )


def _unit_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _wrk(url: str, script: Path, duration: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        # A 10 s timeout: on a loaded machine a page can take seconds, and wrk's default (2 s)
        # would drop those from the latency figures instead of counting them.
        [*_pin(0), "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout",
         "10s",
         "-s", str(script), url], capture_output=True, text=True, check=True).stdout
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout "
                              r"(\d+)", out)
    errors = int(non2xx.group(1)) if non2xx else 0
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    assert p50 and p99 and rps, out
    return {"p50": _unit_ms(p50.group(1)), "p99": _unit_ms(p99.group(1)),
            "rps": float(rps.group(1)), "errors": errors}


OFFICERS = ("bench_township", "bench_edu", "bench_province")


def _rss_mb(pid: int) -> float:
    """Resident memory of a process (and its children: uvicorn's worker), in MB."""
    pids = [pid, *(int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
    total = 0
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def _check_same_page(endpoint: str, floor: str, token: str) -> int:
    """The floor must answer what Lianbao answers: the same count, the same tasks in the same
    order, the same (masked or not) names; the persisted answer must be the normal one, byte
    for byte. Returns the count."""
    headers = {"Authorization": f"Bearer {token}"}
    bodies = _bodies(TASK_PAGE, TASK_PAGE_HASH, {"first": 50})
    normal = httpx.post(endpoint, json=bodies["Lianbao"], headers=headers, timeout=60)
    persisted = httpx.post(endpoint, json=bodies["persisted"], headers=headers, timeout=60)
    assert normal.content == persisted.content, "the persisted page differs from the normal one"
    ours = normal.json()
    theirs = httpx.post(floor, headers=headers, timeout=60).json()
    assert not ours.get("errors"), ours
    a, b = ours["data"]["agencyQueue"], theirs["data"]["agencyQueue"]
    assert a["totalCount"] == b["totalCount"], (a["totalCount"], b["totalCount"])
    def rows(page: dict[str, Any]) -> list[tuple[str, str, str]]:
        return [(e["node"]["dueOn"], e["node"]["title"], e["node"]["child"]["name"])
                for e in page["edges"]]

    assert rows(a) == rows(b), "the floor's page differs from Lianbao's"
    total: int = a["totalCount"]
    return total


def _check_same_case(endpoint: str, token: str, case_id: str) -> None:
    bodies = _bodies(CASE_TIMELINE, CASE_TIMELINE_HASH, {"id": case_id})
    headers = {"Authorization": f"Bearer {token}"}
    normal, persisted = (httpx.post(endpoint, json=bodies[side], headers=headers, timeout=60)
                         for side in ("Lianbao", "persisted"))
    assert normal.content == persisted.content, "the persisted case differs from the normal one"


def _case_ids(endpoint: str, token: str) -> tuple[str, str]:
    cases = httpx.post(endpoint, headers={"Authorization": f"Bearer {token}"}, json={
        "query": "{ cases(first: 2, filter: {status: OPEN}) { edges { node { id } } } }"
    }).json()
    # Persuasions pile up on their case run after run: the timeline is read from another
    # one, so it stays a realistic size.
    first, second = (e["node"]["id"] for e in cases["data"]["cases"]["edges"])
    return first, second


def _raw_id(global_id: str) -> str:
    return base64.b64decode(global_id).decode().rpartition(":")[2]


def _plan(lianbao: str, floor: str, tokens: dict[str, str], case_id: str,
          timeline_id: str) -> list[tuple[str, str, str, dict[str, Any], str]]:
    """(scenario, officer, side, body, url) in the order of one round."""
    runs: list[tuple[str, str, str, dict[str, Any], str]] = []
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    persuasion = {"input": {"caseId": case_id, "method": "PHONE", "outcome": "UNREACHABLE",
                            "attemptedAt": at}}
    scenarios = [("tasks page", officer, _bodies(TASK_PAGE, TASK_PAGE_HASH, {"first": 50}),
                  f"{floor}/floor/tasks") for officer in OFFICERS]
    scenarios.append(("case + timeline", "bench_edu",
                      _bodies(CASE_TIMELINE, CASE_TIMELINE_HASH, {"id": timeline_id}),
                      f"{floor}/floor/case?id={_raw_id(timeline_id)}"))
    scenarios.append(("record persuasion", "bench_edu",
                      _bodies(PERSUADE, PERSUADE_HASH, persuasion),
                      f"{floor}/floor/persuade?id={_raw_id(case_id)}"))
    for scenario, officer, bodies, floor_url in scenarios:
        for side, body in bodies.items():
            runs.append((scenario, officer, side, body, lianbao))
        runs.append((scenario, officer, "floor", {}, floor_url))
    return runs


def run(url: str, duration: int, connections: int, rounds: int,
        only: str | None = None, spy: Path | None = None) -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    env = {**os.environ, "DATABASE_URL": url, "LIANBAO_JWT_SECRET": SECRET,
           "LIANBAO_TICK_INTERVAL": "0", "LIANBAO_LOG_LEVEL": "WARNING",
           # One client address and one user send thousands of requests a second here.
           "LIANBAO_RATE_LIMIT_USER_PER_MINUTE": "0", "LIANBAO_RATE_LIMIT_ADDRESS_PER_MINUTE": "0"}
    settings = Settings(jwt_secret=SECRET)
    tokens = {o: issue_dev_token(settings, o) for o in OFFICERS}
    asyncio.run(_prepare(url))
    lianbao_port, floor_port = _port(), _port()
    results: dict[tuple[str, str, str], list[dict[str, float]]] = {}
    counts: dict[str, int] = {}
    server = _start([sys.executable, "-m", "api.cli", "serve", "--port", str(lianbao_port)],
                    env, f"http://127.0.0.1:{lianbao_port}/healthz")
    floor = _start([sys.executable, "-m", "uvicorn", "bench.floor:app", "--port",
                    str(floor_port), "--log-level", "warning"], env,
                   f"http://127.0.0.1:{floor_port}/floor/tasks")
    try:
        endpoint, floor_url = f"http://127.0.0.1:{lianbao_port}/graphql", f"http://127.0.0.1:{floor_port}"
        for officer in OFFICERS:
            counts[officer] = _check_same_page(endpoint, f"{floor_url}/floor/tasks",
                                               tokens[officer])
        case_id, timeline_id = _case_ids(endpoint, tokens["bench_edu"])
        _check_same_case(endpoint, tokens["bench_edu"], timeline_id)
        plan = [step for step in _plan(endpoint, floor_url, tokens, case_id, timeline_id)
                if only is None or only in step[0]]
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(rounds):  # interleaved: each round runs every scenario once
                for i, (scenario, officer, side, body, target) in enumerate(plan):
                    script = Path(tmp) / f"{i}.lua"
                    _lua(script, body, tokens[officer])
                    recorder = _spy(spy, server.pid, scenario, side, duration) if (
                        spy and side != "floor") else None
                    figure = _wrk(target, script, duration, connections)
                    if recorder is not None:
                        recorder.wait(timeout=60)
                    figure["load"] = os.getloadavg()[0]
                    results.setdefault((scenario, officer, side), []).append(figure)
        memory = {"Lianbao": _rss_mb(server.pid), "floor": _rss_mb(floor.pid)}
    finally:
        for proc in (server, floor):
            proc.terminate()
            proc.wait(timeout=10)
    _print(results, counts, memory, duration, connections, rounds)


def _spy(folder: Path, pid: int, scenario: str, side: str,
         duration: int) -> subprocess.Popen[bytes]:
    """py-spy sampling the Lianbao worker for one run (collapsed stacks, one file per run,
    appended to across rounds: ``flamegraph.pl`` or speedscope reads them)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{scenario.replace(' ', '_')}-{side}-{time.monotonic_ns()}.txt"
    return subprocess.Popen(
        [*_pin(0), str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid),
         "--duration", str(duration), "--format", "raw", "--rate", "200", "--nonblocking",
         "--output", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def _prepare(url: str) -> None:
    """The load run's officers (once per data set) and a vacuumed, analysed task table."""
    conn = await asyncpg.connect(dsn(url))
    try:
        await add_officers(conn)
        await conn.execute("VACUUM (ANALYZE) task, task_tally, dropout_case")
    finally:
        await conn.close()


def _median(figures: list[dict[str, float]], key: str) -> float:
    return statistics.median(f[key] for f in figures)


def _print(results: dict[tuple[str, str, str], list[dict[str, float]]], counts: dict[str, int],
           memory: dict[str, float], duration: int, connections: int, rounds: int) -> None:
    print(f"\none uvicorn worker each on core 1, wrk -t1 -c{connections} -d{duration}s on core 0,"
          f" {rounds} interleaved rounds (medians; load average at each run's end)\n")
    print("| scenario | officer (visible tasks) | side | p50 / p99 ms | req/s | p50 ×floor | "
          "load avg | errors |")
    print("|---|---|---|---|---|---|---|---|")
    pages: dict[str, list[float]] = {}
    for scenario, officer, side in results:
        figures = results[(scenario, officer, side)]
        p50 = _median(figures, "p50")
        fp50 = max(_median(results[(scenario, officer, "floor")], "p50"), 0.001)
        if scenario == "tasks page":
            pages.setdefault(side, []).append(p50)
        loads = "–".join(f"{f['load']:.1f}" for f in figures)
        errors = int(sum(f["errors"] for f in figures))
        seen = f" ({counts[officer]:,})" if scenario == "tasks page" else ""
        ratio = "" if side == "floor" else f"×{p50 / fp50:.2f}"
        print(f"| {scenario} | {officer}{seen} | {side} | {p50:.1f} / "
              f"{_median(figures, 'p99'):.1f} | {_median(figures, 'rps'):.0f} | {ratio} | "
              f"{loads} | {errors} |")
    print()
    for side, p50s in pages.items():
        if p50s and min(p50s) > 0:
            print(f"tasks page p50 ({side}), slowest officer / fastest: "
                  f"×{max(p50s) / min(p50s):.2f}")
    print(f"resident memory after the run: Lianbao worker {memory['Lianbao']:.0f} MB, "
          f"floor {memory['floor']:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", help="run only the scenarios whose name contains this "
                        "(\"persuasion\", \"tasks page\"), to iterate on one")
    parser.add_argument("--spy", type=Path, help="record the Lianbao worker with py-spy "
                        "during its runs, collapsed stacks into this folder")
    args = parser.parse_args()
    run(args.url, args.duration, args.connections, args.rounds, args.only, args.spy)


if __name__ == "__main__":
    main()
