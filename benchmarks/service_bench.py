"""Load benchmark of the decision service: a real `bwc serve` (SQLite store in a temporary folder, the
bundled rulesets) driven by an open-loop, constant-rate load generator on the same machine. Writes
benchmarks/service_results.json (atomically) and prints a Markdown table.

    .venv/bin/python benchmarks/service_bench.py                  # decide 500/s and append 200/s, 60 s each
    .venv/bin/python benchmarks/service_bench.py --seconds 10     # a quick run
    .venv/bin/python benchmarks/service_bench.py --scenario generator --rate 2000   # the generator alone

Open loop: request k is due at start + k / rate and is sent then, whatever happened to the requests
before it; its latency runs from that due time, not from when it was sent, so a server that falls
behind shows its queue in the figures (no coordinated omission). Requests go over HTTP/1.1 keep-alive
connections (raw asyncio streams: a few tens of microseconds of generator CPU per request); a request
due when every connection is busy opens another one, up to --max-connections in use (256), as a
client's pool does; past that it waits for one, and the wait counts.

Scenarios:
- `decide`: POST /v1/decide with the bundled example incidents (examples/*.json), each under its
  ruleset, a new incident id each time (every decision is recorded in the log, as in production).
- `append`: incidents opened with PUT /v1/incidents/{id}, then their events appended one per
  POST /v1/incidents/{id}/events (each answered with the decision, after commit). The rate counts
  both kinds; the table shows each. Requests of one incident go in order (in lanes of one incident
  at a time; a request waits for the one before it in its lane, and that wait counts).
- `generator`: the same generator against a trivial HTTP server (a bare asyncio protocol in another
  process): what the generator alone can sustain on this machine.

Any status but 2xx, a connection error, or no answer within --timeout is an error. The server runs
with `--workers 2` unless told otherwise (`--workers N`); its CPU is that of all its processes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.io.output import write_text_atomic  # noqa: E402

# The bundled examples and the ruleset each is decided under (id: the version in force on its date).
EXAMPLES = {
    "boston-bpcat-draft.json": "boston-bpcat-draft",
    "boston-rule-405.json": "boston-rule-405",
    "california-gov-7923-625.json": "california-gov-7923-625",
    "california-pc-832-19.json": "california-pc-832-19",
    "colorado-complaint.json": "colorado-24-31-902",
    "dc-24-dcmr-3900.json": "dc-24-dcmr-3900",
    "illinois-50-ilcs-706-10-20.json": "illinois-50-ilcs-706-10-20",
    "minnesota-13-825.json": "minnesota-13-825",
    "new-jersey-40a-14-118.json": "new-jersey-40a-14-118",
}
TARGETS = {"decide": {"rate": 500, "p99_ms": 10.0}, "append": {"rate": 200, "p99_ms": 20.0}}
IDLE_CLOSE = 2.0  # seconds: a connection idle longer is closed by us, before the server's keep-alive timeout


def _examples() -> list[tuple[str, dict[str, Any]]]:
    return [(ref, json.loads((ROOT / "examples" / name).read_text(encoding="utf-8")))
            for name, ref in EXAMPLES.items()]


# --- the HTTP client: raw HTTP/1.1 over keep-alive connections --------------------------------------

class Closed(Exception):
    """The server closed the connection."""


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.last_used = time.monotonic()

    async def send(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, chunked, close = 0, False, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            body = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                body += await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        else:
            body = await self.reader.readexactly(length)
        if close:
            self.close()
            raise Closed
        self.last_used = time.monotonic()
        return status, body

    def close(self) -> None:
        self.writer.close()


class Pool:
    """Keep-alive connections, the most recently used first; a new one when none is free, up to `limit`
    in use at once (as a client's connection pool: past it a request waits, and the wait counts)."""

    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host, self.port = host, port
        self.idle: list[Connection] = []
        self.opened = 0
        self.in_use = asyncio.Semaphore(limit)

    async def open(self) -> Connection:
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=1 << 22)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.opened += 1
        return Connection(reader, writer)

    async def warm(self, n: int) -> None:
        self.idle.extend(await asyncio.gather(*(self.open() for _ in range(n))))

    async def acquire(self) -> Connection:
        await self.in_use.acquire()
        now = time.monotonic()
        while self.idle:
            conn = self.idle.pop()
            if now - conn.last_used < IDLE_CLOSE:
                return conn
            conn.close()
        try:
            return await self.open()
        except BaseException:
            self.in_use.release()
            raise

    def release(self, conn: Connection) -> None:
        self.idle.append(conn)
        self.in_use.release()

    def discard(self, conn: Connection) -> None:
        conn.close()
        self.in_use.release()

    def close(self) -> None:
        for conn in self.idle:
            conn.close()
        self.idle.clear()


def request_bytes(method: str, path: str, token: str | None, body: bytes | None = None) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + (body or b"")


# --- the open-loop driver ------------------------------------------------------------------------------

@dataclass
class Sample:
    kind: str
    latency: float  # seconds from the due time to the answer
    service: float  # seconds from the send to the answer
    ok: bool


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    late_sends: int = 0  # requests sent more than 1 ms after they were due (generator or connection wait)
    connections: int = 0  # keep-alive connections opened in all (more open when the server falls behind)

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


# A lane yields, for each of its turns, (kind, request bytes, check of the answer's body).
Step = tuple[str, bytes, Callable[[int, bytes], str | None]]


async def drive(host: str, port: int, lanes: list[Iterator[Step]], rate: float, seconds: float,
                timeout: float, connections: int, ordered: bool, max_connections: int = 256,
                ) -> tuple[Run, float, float]:
    """Sends rate x seconds requests, request k due at start + k / rate, taking turns over the lanes
    (`ordered`: a request is sent once the one before it in its lane is answered, as a client sends an
    incident's events in order; otherwise at its due time, whatever is outstanding); returns the
    samples, the wall time from the first due time to the last answer, and the generator's CPU seconds."""
    pool = Pool(host, port, max_connections)
    await pool.warm(connections)
    run = Run()
    loop = asyncio.get_running_loop()
    busy: list[asyncio.Future[None] | None] = [None] * len(lanes)
    total = int(rate * seconds)
    cpu0 = time.process_time()
    start = loop.time() + 0.05

    async def one(k: int, due: float, step: Step, before: asyncio.Future[None] | None) -> None:
        kind, raw, check = step
        if before is not None:
            await before  # the request before it in its lane (same incident) is answered first
        conn: Connection | None = None
        sent = loop.time()
        if sent - due > 0.001:
            run.late_sends += 1
        try:
            conn = await pool.acquire()
            sent = loop.time()
            status, body = await asyncio.wait_for(conn.send(raw), timeout - (sent - due))
            end = loop.time()
            problem = check(status, body)
            if problem is not None:
                run.error(problem)
            run.samples.append(Sample(kind, end - due, end - sent, problem is None))
            pool.release(conn)
        except TimeoutError:  # before OSError, of which it is a subclass
            run.error(f"no answer within {timeout:g} s of its due time")
            run.samples.append(Sample(kind, loop.time() - due, loop.time() - sent, False))
            if conn is not None:
                pool.discard(conn)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, Closed, ValueError) as exc:
            run.error(f"connection: {type(exc).__name__}")
            run.samples.append(Sample(kind, loop.time() - due, loop.time() - sent, False))
            if conn is not None:
                pool.discard(conn)

    tasks = []
    for k in range(total):
        due = start + k / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        lane = k % len(lanes)
        step = next(lanes[lane])
        done: asyncio.Future[None] = asyncio.ensure_future(one(k, due, step, busy[lane] if ordered else None))
        busy[lane] = done
        tasks.append(done)
    await asyncio.gather(*tasks)
    wall = loop.time() - start
    cpu = time.process_time() - cpu0
    pool.close()
    run.connections = pool.opened
    return run, wall, cpu


# --- scenarios -------------------------------------------------------------------------------------------

def _ok_json(field_name: str) -> Callable[[int, bytes], str | None]:
    def check(status: int, body: bytes) -> str | None:
        if not 200 <= status < 300:
            return f"HTTP {status}: {body[:200].decode(errors='replace')}"
        if field_name.encode() not in body:
            return f"HTTP {status} without `{field_name}`"
        return None
    return check


def decide_lanes(token: str, run_id: str, lanes: int) -> list[Iterator[Step]]:
    examples = _examples()
    check = _ok_json("decision_id")

    def lane(n: int) -> Iterator[Step]:
        k = 0
        while True:
            ref, incident = examples[(n + k) % len(examples)]
            body = json.dumps({"policy": ref, "incident": {**incident, "id": f"{run_id}-{n}-{k}"}}).encode()
            yield "decide", request_bytes("POST", "/v1/decide", token, body), check
            k += 1
    return [lane(n) for n in range(lanes)]


def append_lanes(token: str, run_id: str, lanes: int) -> list[Iterator[Step]]:
    examples = _examples()
    opened, appended = _ok_json("incident_id"), _ok_json("decision_id")

    def lane(n: int) -> Iterator[Step]:
        k = 0
        while True:
            ref, incident = examples[(n + k) % len(examples)]
            iid = f"{run_id}-{n}-{k}"
            body = json.dumps({"policy": ref, "timezone": incident["timezone"], "facts": incident["facts"]}).encode()
            yield "open (PUT)", request_bytes("PUT", f"/v1/incidents/{iid}", token, body), opened
            for j, event in enumerate(incident["events"]):
                body = json.dumps({"events": [{"event_id": f"e{j}", "event": event}]}).encode()
                raw = request_bytes("POST", f"/v1/incidents/{iid}/events", token, body)
                yield "append (POST events)", raw, appended
            k += 1
    return [lane(n) for n in range(lanes)]


def trivial_lanes() -> list[Iterator[Step]]:
    def check(status: int, body: bytes) -> str | None:
        return None if status == 200 else f"HTTP {status}"

    def lane() -> Iterator[Step]:
        raw = request_bytes("GET", "/", None)
        while True:
            yield "trivial GET", raw, check
    return [lane()]


TRIVIAL_SERVER = r"""
import asyncio, sys
BODY = b'{"status":"ok"}'
ANSWER = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 15\r\n\r\n" + BODY
class P(asyncio.Protocol):
    def connection_made(self, t): self.t, self.buf = t, b""
    def data_received(self, data):
        self.buf += data
        while b"\r\n\r\n" in self.buf:
            _, self.buf = self.buf.split(b"\r\n\r\n", 1)
            self.t.write(ANSWER)
async def main():
    server = await asyncio.get_running_loop().create_server(P, "127.0.0.1", int(sys.argv[1]))
    print("ready", flush=True)
    await server.serve_forever()
asyncio.run(main())
"""


# --- the server ---------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and of its child processes that are alive (`bwc serve
    --workers N`: the supervisor and its workers), from Linux /proc; 0 for what cannot be read."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # a process that ended meanwhile
        if stat.parent.name == str(pid) or fields[1] == str(pid):  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


class Server:
    """`bwc serve` (or the trivial server) in a process of its own, on a free port."""

    def __init__(self, folder: Path, token: str, extra: list[str], trivial: bool = False) -> None:
        self.port = free_port()
        if trivial:
            cmd = [sys.executable, "-c", TRIVIAL_SERVER, str(self.port)]
        else:
            cmd = [sys.executable, "-m", "engine.cli", "serve", "--rulesets", str(ROOT / "rulesets"),
                   "--store", f"sqlite:///{folder / 'bwc.db'}", "--port", str(self.port), *extra]
        env = {**os.environ, "BWC_TOKENS": f"admin:{token}"}
        self.log = (folder / "server.log").open("wb")
        self.proc = subprocess.Popen(cmd, cwd=folder, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        path = "/" if trivial else "/readyz"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited: {(folder / 'server.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(request_bytes("GET", path, None))
                    if s.recv(100).startswith(b"HTTP/1.1 200"):
                        return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("the server did not become ready in 120 s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


# --- figures ----------------------------------------------------------------------------------------------

def percentile(sorted_xs: list[float], q: float) -> float:
    if not sorted_xs:
        return float("nan")
    return sorted_xs[min(len(sorted_xs), max(1, math.ceil(q * len(sorted_xs)))) - 1]  # nearest rank


def figures(latencies: list[float]) -> dict[str, float]:
    xs = sorted(latencies)
    return {name: round(percentile(xs, q) * 1000, 3) for name, q in
            (("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("p99.9", 0.999), ("max", 1.0))}


def summarize(name: str, rate: float, seconds: float, run: Run, wall: float, gen_cpu: float,
              server_cpu: float | None) -> dict[str, Any]:
    answered = [s for s in run.samples if s.ok]
    kinds = sorted({s.kind for s in run.samples})
    result: dict[str, Any] = {
        "scenario": name, "rate": rate, "seconds": seconds, "sent": len(run.samples),
        "ok": len(answered), "errors": sum(run.errors.values()), "error_kinds": run.errors,
        "achieved_rate": round(len(answered) / wall, 1) if wall > 0 else 0.0,
        "late_sends": run.late_sends, "connections": run.connections,
        "latency_ms": figures([s.latency for s in run.samples]),
        "service_ms": figures([s.service for s in run.samples]),
        "generator_cpu_percent": round(100 * gen_cpu / wall, 1),
        "by_kind": {k: {"sent": sum(1 for s in run.samples if s.kind == k),
                        "latency_ms": figures([s.latency for s in run.samples if s.kind == k])} for k in kinds},
    }
    if server_cpu is not None:
        result["server_cpu_percent"] = round(100 * server_cpu / wall, 1)
    target = TARGETS.get(name)
    if target is not None:
        key = "append (POST events)" if name == "append" else "decide"
        p99 = result["by_kind"].get(key, {}).get("latency_ms", {}).get("p99", float("inf"))
        result["target"] = {**target, "measured_p99_ms": p99,
                            "met": bool(rate >= target["rate"] and p99 < target["p99_ms"] and not result["errors"]
                                        and seconds >= 60)}
    return result


def table(results: list[dict[str, Any]]) -> str:
    rows = ["| scenario | requests | rate /s (asked / achieved) | errors | p50 ms | p90 ms | p99 ms | p99.9 ms | "
            "max ms | server CPU | generator CPU |",
            "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for r in results:
        for kind, k in r["by_kind"].items():
            lat = k["latency_ms"]
            rows.append(f"| {r['scenario']} | {kind} ({k['sent']:,}) | {r['rate']:g} / {r['achieved_rate']:g} | "
                        f"{r['errors']} | {lat['p50']:.2f} | {lat['p90']:.2f} | {lat['p99']:.2f} | "
                        f"{lat['p99.9']:.2f} | {lat['max']:.2f} | {r.get('server_cpu_percent', '-')}% | "
                        f"{r['generator_cpu_percent']}% |")
    return "\n".join(rows)


# --- main ---------------------------------------------------------------------------------------------

def run_scenario(name: str, rate: float, seconds: float, args: argparse.Namespace) -> dict[str, Any]:
    token = secrets.token_hex(16)
    run_id = secrets.token_hex(3)
    with tempfile.TemporaryDirectory(prefix="bwc-service-bench-") as tmp:
        server = Server(Path(tmp), token, ["--workers", str(args.workers), *args.server_arg],
                        trivial=name == "generator")
        print(f"{name}: server pid {server.proc.pid} (py-spy record -p {server.proc.pid} --gil to profile it)",
              file=sys.stderr, flush=True)
        try:
            if name == "decide":
                lanes = decide_lanes(token, run_id, 64)
            elif name == "append":
                lanes = append_lanes(token, run_id, max(1, min(200, int(rate))))
            else:
                lanes = trivial_lanes()
            if args.warmup > 0 and name != "generator":  # every code path once, outside the timing
                warm_lanes = (decide_lanes if name == "decide" else append_lanes)(token, run_id + "w", 9)
                warm, _, _ = asyncio.run(drive("127.0.0.1", server.port, warm_lanes, min(rate, 100.0),
                                               args.warmup, args.timeout, 4, ordered=True))
                if warm.errors:
                    raise RuntimeError(f"warm-up failed: {warm.errors}")
            cpu0 = cpu_seconds(server.proc.pid)
            run, wall, gen_cpu = asyncio.run(drive("127.0.0.1", server.port, lanes, rate, seconds, args.timeout,
                                                   args.connections, ordered=name == "append",
                                                   max_connections=args.max_connections))
            server_cpu = cpu_seconds(server.proc.pid) - cpu0
        finally:
            server.stop()
    return summarize(name, rate, seconds, run, wall, gen_cpu, server_cpu)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", choices=["decide", "append", "generator", "all"], default="all",
                    help="all: decide then append (default)")
    ap.add_argument("--seconds", type=float, default=60.0, help="length of each timed run (default 60)")
    ap.add_argument("--rate", type=float, default=None,
                    help="requests per second (default: decide 500, append 200, generator 2000)")
    ap.add_argument("--connections", type=int, default=32, help="keep-alive connections opened at the start")
    ap.add_argument("--max-connections", type=int, default=256,
                    help="connections in use at once, at most (past it a request waits for one; the wait counts)")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds after its due time a request may take")
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds of untimed requests first (0: none)")
    ap.add_argument("--workers", type=int, default=2, help="`bwc serve --workers N` (default 2: one per core here)")
    ap.add_argument("--server-arg", action="append", default=[], help="an extra option for `bwc serve`")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "service_results.json")
    args = ap.parse_args(argv)
    names = ["decide", "append"] if args.scenario == "all" else [args.scenario]
    default_rate = {"decide": 500.0, "append": 200.0, "generator": 2000.0}
    load = os.getloadavg()
    results = []
    for name in names:
        rate = args.rate or default_rate[name]
        print(f"{name}: {rate:g} requests/s for {args.seconds:g} s ...", file=sys.stderr, flush=True)
        results.append(run_scenario(name, rate, args.seconds, args))
    doc = {"meta": {"python": platform.python_version(), "machine": platform.machine(), "system": platform.system(),
                    "cpus": os.cpu_count(), "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "load_average_before": [round(x, 2) for x in load],
                    "workers": args.workers,
                    "command": " ".join(["benchmarks/service_bench.py",
                                         *(argv if argv is not None else sys.argv[1:])])},
           "scenarios": {r["scenario"]: r for r in results}}
    write_text_atomic(args.out, json.dumps(doc, indent=2, sort_keys=True) + "\n")
    print(table(results))
    for r in results:
        if r["errors"]:
            print(f"{r['scenario']}: errors {r['error_kinds']}")
        if "target" in r:
            t = r["target"]
            print(f"{r['scenario']}: target p99 < {t['p99_ms']:g} ms at {t['rate']}/s for 60 s: "
                  f"{'met' if t['met'] else 'not met'} (p99 {t['measured_p99_ms']:.2f} ms)")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
