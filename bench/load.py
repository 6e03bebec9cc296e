"""Load run with ``wrk``: Lianbao's GraphQL endpoint against the hand-written floor.

    python -m bench.generate            # 2,000,000 children, 200,000 cases, 500,000 tasks
    python -m bench.load [--duration 15] [--connections 16]

One uvicorn worker pinned to core 1, wrk pinned to core 0 (``taskset``), one scenario at a
time: (a) a page of 50 tasks with case, child and school — Lianbao and the floor
(``bench/floor.py``: one SQL query and ``json``, the same authorization filter); (b) a case
with its timeline; (c) recording a persuasion attempt. Prints p50/p99 latency, requests per
second, errors, and the Lianbao/floor ratio. ``wrk`` is Debian's package.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from api.auth import issue_dev_token
from api.settings import Settings
from bench.generate import DEFAULT_URL

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-" + "b" * 32

TASK_PAGE = """{ agencyQueue(first: 50) { totalCount edges { node { id kind title dueOn priority
  status case { stage } child { name } school { name } } } } }"""
CASE_TIMELINE = """query($id: ID!) { node(id: $id) { ... on DropoutCase { id stage version
  timeline { occurredAt kind fromStage toStage reason actorUsername } } } }"""
PERSUADE = """mutation($id: ID!, $at: DateTime!) { recordPersuasion(input: {caseId: $id,
  method: PHONE, outcome: UNREACHABLE, attemptedAt: $at}) { userErrors { code } } }"""


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
        [*_pin(0), "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency",
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


def run(url: str, duration: int, connections: int) -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    env = {**os.environ, "DATABASE_URL": url, "LIANBAO_JWT_SECRET": SECRET,
           "LIANBAO_TICK_INTERVAL": "0", "LIANBAO_LOG_LEVEL": "WARNING"}
    settings = Settings(jwt_secret=SECRET)
    officer = issue_dev_token(settings, "bench_edu")
    lianbao_port, floor_port = _port(), _port()
    results: list[tuple[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        scripts = Path(tmp)
        server = _start([sys.executable, "-m", "api.cli", "serve", "--port", str(lianbao_port)],
                        env, f"http://127.0.0.1:{lianbao_port}/healthz")
        try:
            endpoint = f"http://127.0.0.1:{lianbao_port}/graphql"
            headers = {"Authorization": f"Bearer {officer}"}
            page = httpx.post(endpoint, json={"query": TASK_PAGE}, headers=headers).json()
            assert not page.get("errors") and page["data"]["agencyQueue"]["edges"], page
            cases = httpx.post(endpoint, headers=headers, json={
                "query": "{ cases(first: 2, filter: {status: OPEN}) { edges { node { id } } } }"
            }).json()
            # Persuasions pile up on their case run after run: the timeline is read from
            # another one, so it stays a realistic size.
            case_id, timeline_id = (e["node"]["id"] for e in cases["data"]["cases"]["edges"])
            for name, body in (
                ("tasks page (Lianbao)", {"query": TASK_PAGE}),
                ("case + timeline (Lianbao)", {"query": CASE_TIMELINE,
                                               "variables": {"id": timeline_id}}),
                ("record persuasion (Lianbao)", {"query": PERSUADE, "variables": {
                    "id": case_id, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}}),
            ):
                script = scripts / f"{len(results)}.lua"
                _lua(script, body, officer)
                results.append((name, _wrk(endpoint, script, duration, connections)))
        finally:
            server.terminate()
            server.wait(timeout=10)
        floor = _start([sys.executable, "-m", "uvicorn", "bench.floor:app", "--port",
                        str(floor_port), "--log-level", "warning"], env,
                       f"http://127.0.0.1:{floor_port}/floor/tasks")
        try:
            script = scripts / "floor.lua"
            _lua(script, {}, officer)
            results.append(("tasks page (floor)", _wrk(
                f"http://127.0.0.1:{floor_port}/floor/tasks", script, duration, connections)))
        finally:
            floor.terminate()
            floor.wait(timeout=10)
    print(f"\none uvicorn worker on core 1, wrk -c{connections} -d{duration}s on core 0\n")
    print("| scenario | p50 ms | p99 ms | req/s | errors |")
    print("|---|---|---|---|---|")
    for name, r in results:
        print(f"| {name} | {r['p50']:.2f} | {r['p99']:.2f} | {r['rps']:.0f} | "
              f"{int(r['errors'])} |")
    lianbao, floor_ = results[0][1], results[-1][1]
    print(f"\ntasks page, Lianbao / floor: p50 ×{lianbao['p50'] / floor_['p50']:.2f}, "
          f"req/s ×{lianbao['rps'] / floor_['rps']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    run(args.url, args.duration, args.connections)


if __name__ == "__main__":
    main()
