"""The decision service, end to end: `bwc serve` started as a real process on a local port, called
over HTTP; its store checked after a kill -9; its decision log checked after it was tampered with.

Every test given `store_url` (or `server`) runs twice: on SQLite, and on a fresh database of the
PostgreSQL server that BWC_TEST_POSTGRES names (postgresql://USER:PASSWORD@HOST:PORT/DB, a role that
may create databases; .ci/run starts one and sets it). Without it the PostgreSQL runs are skipped, and
fail under CI=true: a CI without PostgreSQL must not pass as though it had tested it."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from cli_runner import run_cli
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.pool import NullPool

from engine.service.store import Store, StoreError, entry_hash
from policy.canonical import dumps_canonical

ROOT = Path(__file__).resolve().parent.parent
READ, WRITE, ADMIN = "read-token-0123456789", "write-token-0123456789", "admin-token-0123456789"
CO = "colorado-24-31-902"
INCIDENT = json.loads((ROOT / "examples" / "colorado-complaint.json").read_text(encoding="utf-8"))
POSTGRES = "BWC_TEST_POSTGRES"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`bwc serve` in a process of its own, on a free port, with its store at `store` (default: a
    SQLite file in `folder`)."""

    def __init__(self, folder: Path, store: str | None = None, args: tuple[str, ...] = ()) -> None:
        self.folder = folder
        self.store = store or f"sqlite:///{folder / 'bwc.db'}"
        self.args = args  # more options of `bwc serve`, e.g. ("--workers", "2")
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> Server:
        return self.launch().ready()

    def launch(self) -> Server:
        """Start the process, without waiting for it to serve (`ready`): several may start at once."""
        port = _port()
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "BWC_TOKENS": f"read:{READ},write:{WRITE},admin:{ADMIN}"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "serve", "--rulesets", str(ROOT / "rulesets"), "--store", self.store,
             "--port", str(port), *self.args], cwd=self.folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        return self

    def ready(self) -> Server:
        assert self.proc is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"bwc serve exited: {self.proc.stderr.read().decode()}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("bwc serve did not become ready in 60 s")

    def call(self, method: str, path: str, token: str | None = READ, **kw: Any) -> httpx.Response:
        headers = {**kw.pop("headers", {}), **({"Authorization": f"Bearer {token}"} if token else {})}
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kw)

    def stop(self, sig: int = signal.SIGTERM) -> str:
        assert self.proc is not None
        self.proc.send_signal(sig)
        _, err = self.proc.communicate(timeout=30)
        return err.decode()


def _sa_url(store: str) -> str:
    """A store URL as SQLAlchemy reads it (PostgreSQL through psycopg 3, as the store reaches it)."""
    return store.replace("postgresql://", "postgresql+psycopg://", 1)


def _database(store: str) -> sa.Engine:
    """The store's database, opened directly: what someone with access to it, not to the service, sees."""
    return sa.create_engine(_sa_url(store), poolclass=NullPool)


@contextmanager
def postgres_database() -> Iterator[str]:
    """The URL of a new, empty database on the BWC_TEST_POSTGRES server, dropped afterwards."""
    base = os.environ.get(POSTGRES, "")
    if not base:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{POSTGRES} is not set: CI must run the store's tests on PostgreSQL (.ci/run starts one)")
        pytest.skip(f"set {POSTGRES}=postgresql://USER:PASSWORD@HOST:PORT/DB to run the PostgreSQL tests")
    name = f"bwc_test_{secrets.token_hex(6)}"
    admin = sa.create_engine(_sa_url(base), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as db:
        db.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as db:  # FORCE: a server killed by a test may have left a session behind
            db.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh store for one test: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bwc.db'}"
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture()
def server(tmp_path: Path, store_url: str) -> Iterator[Server]:
    s = Server(tmp_path, store_url).start()
    yield s
    if s.proc is not None and s.proc.poll() is None:
        s.stop()


def _no_internals(r: httpx.Response) -> None:
    assert "Traceback" not in r.text and str(ROOT) not in r.text and "site-packages" not in r.text


def test_decide_is_recorded_and_the_log_verifies(server: Server) -> None:
    r = server.call("POST", "/v1/decide", json={"policy": CO, "incident": INCIDENT})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    decision = r.json()
    code, out, _ = run_cli(["decide", "--rulesets", str(ROOT / "rulesets"), "--policy", CO, "--format", "json",
                            str(ROOT / "examples" / "colorado-complaint.json")], cwd=server.folder)
    assert code == 0 and out.strip() == r.text  # the same bytes as `bwc decide`
    entry = server.call("GET", f"/v1/decisions/{decision['decision_id']}").json()
    assert entry["decision"] == decision and entry["ruleset"] == CO and entry["seq"] == 1
    assert entry["digest"] == decision["ruleset"]["digest"] and entry["input_digest"].startswith("sha256:")
    lines = server.call("GET", "/v1/decisions").text.splitlines()
    assert [json.loads(line)["decision_id"] for line in lines] == [decision["decision_id"]]
    verified = server.call("GET", "/v1/decisions-log/verify", token=ADMIN).json()
    assert verified["ok"] and verified["entries"] == 1


def test_explain_answers_what_bwc_explain_prints(server: Server) -> None:
    r = server.call("POST", "/v1/explain", json={"policy": CO, "incident": INCIDENT})
    assert r.status_code == 200, r.text
    code, out, _ = run_cli(["explain", "--rulesets", str(ROOT / "rulesets"), "--policy", CO, "--format", "json",
                            str(ROOT / "examples" / "colorado-complaint.json")], cwd=server.folder)
    assert code == 0 and json.loads(out) == r.json() and r.json()["incident_id"] == INCIDENT["id"]
    # December 9999: a release due 21 days after the request falls past the calendar
    late = {**INCIDENT, "events": [{**e, "at": "9999-12" + e["at"][7:]} for e in INCIDENT["events"]]}
    refused = server.call("POST", "/v1/explain", json={"policy": CO, "incident": late})
    assert refused.status_code == server.call("POST", "/v1/decide", json={"policy": CO, "incident": late}).status_code
    assert refused.status_code == 422, refused.text


def test_the_log_is_exported_by_time_recorded_whatever_the_offset(server: Server) -> None:
    """`since`/`until` are times: the same moment written with another offset, or with `Z`, selects the
    same entries (they were once compared as text with the log's `+00:00` form), and a value that is
    not a time is refused rather than selecting nothing."""
    decision = server.call("POST", "/v1/decide", json={"policy": CO, "incident": INCIDENT}).json()
    recorded = datetime.fromisoformat(server.call("GET", f"/v1/decisions/{decision['decision_id']}").json()
                                      ["recorded_at"])
    later = recorded + timedelta(microseconds=1)

    def ids(**period: str) -> list[str]:
        r = server.call("GET", "/v1/decisions", params=period)
        assert r.status_code == 200, r.text
        return [json.loads(line)["decision_id"] for line in r.text.splitlines()]

    chicago, kolkata = timezone(timedelta(hours=-6)), timezone(timedelta(hours=5, minutes=30))
    assert ids(since=recorded.astimezone(UTC).isoformat().replace("+00:00", "Z")) == [decision["decision_id"]]
    assert ids(since=recorded.astimezone(kolkata).isoformat()) == [decision["decision_id"]]
    assert ids(until=later.astimezone(chicago).isoformat()) == [decision["decision_id"]]
    assert ids(since=later.astimezone(chicago).isoformat()) == []
    assert ids(until=recorded.astimezone(kolkata).isoformat()) == []
    for period, words in [({"since": "yesterday"}, "`since`: `yesterday` is not a time"),
                          ({"until": "2024-01-01"}, "`until`: `2024-01-01` is not a time"),
                          ({"since": "2024-01-01T00:00:00"}, "`since`: `2024-01-01T00:00:00` has no time zone"),
                          ({"since": "2024-01-02T00:00:00Z", "until": "2024-01-01T00:00:00Z"},
                           "the period is empty")]:
        r = server.call("GET", "/v1/decisions", params=period)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
        assert words in r.json()["detail"]


def test_ids_a_store_cannot_keep_are_refused_alike_on_every_store(server: Server) -> None:
    """A NUL character, or more than 200 characters, in an incident's or an event's id: PostgreSQL
    cannot keep them (text holds no NUL; an index entry holds about 2,700 bytes), and once answered 503
    "the store cannot be reached" (and failed a whole batch). Now: 422 saying which id and why, on
    SQLite as on PostgreSQL; the rest of a batch is decided; a lookup of such an id finds nothing."""
    opened = {"policy": CO, "timezone": INCIDENT["timezone"], "facts": INCIDENT["facts"]}
    for iid, words in [("a%00b", "holds a NUL character (U+0000)"),
                       ("x" * 201, "is 201 characters long; the store keeps ids of at most 200")]:
        r = server.call("PUT", f"/v1/incidents/{iid}", token=WRITE, json=opened)
        assert r.status_code == 422 and r.json()["problems"][0]["field"] == "id", r.text
        assert words in r.json()["problems"][0]["message"]
        assert server.call("GET", f"/v1/incidents/{iid}/decision").status_code == 404
    assert server.call("PUT", f"/v1/incidents/{'x' * 200}", token=WRITE, json=opened).status_code == 201
    _open(server)
    r = server.call("POST", "/v1/incidents/INC-1/events", token=WRITE,
                    json={"events": [{"event_id": "ev-\u0000", "event": INCIDENT["events"][0]}]})
    assert r.status_code == 422 and r.json()["problems"][0]["field"] == "events[0].event_id", r.text
    r = server.call("POST", "/v1/decide", json={"policy": CO, "incident": {**INCIDENT, "id": "a\u0000b"}})
    assert r.status_code == 422 and "NUL" in r.json()["problems"][0]["message"], r.text
    r = server.call("POST", "/v1/decide/batch",
                    json={"policy": CO, "incidents": [{**INCIDENT, "id": "a\u0000b"}, INCIDENT]})
    assert r.status_code == 200, r.text
    batch = r.json()
    assert batch["decisions"][0] is None and batch["decisions"][1]["incident_id"] == INCIDENT["id"]
    assert [k["index"] for k in batch["refused"]] == [0]
    assert server.call("GET", "/v1/decisions/dec-%00").status_code == 404
    assert server.call("GET", "/v1/replays/%00").status_code == 404
    assert [json.loads(line)["incident_id"] for line in server.call("GET", "/v1/decisions").text.splitlines()] \
        == [INCIDENT["id"]]
    assert "\nbwc_store_errors_total 0.0\n" in server.call("GET", "/metrics").text  # the store never failed


def test_every_call_needs_a_token_of_the_right_role(server: Server) -> None:
    body = {"policy": CO, "incident": INCIDENT}
    assert server.call("POST", "/v1/decide", token=None, json=body).status_code == 401
    assert server.call("POST", "/v1/decide", token="not-a-token-of-ours-at-all", json=body).status_code == 401
    opened = {"policy": CO, "timezone": "America/Denver", "facts": {}}
    refused = server.call("PUT", "/v1/incidents/x", token=READ, json=opened)
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    assert server.call("GET", "/v1/decisions-log/verify", token=WRITE).status_code == 403
    assert server.call("GET", "/metrics", token=None).status_code == 401
    assert server.call("GET", "/healthz", token=None).status_code == 200
    metrics = server.call("GET", "/metrics").text
    assert 'bwc_requests_total{method="POST",route="/v1/decide",status="401"} 2.0' in metrics


@pytest.mark.parametrize(("body", "status", "words"), [
    (b'{"policy": "a", "policy": "b", "incident": {}}', 400, "appears twice"),
    (b'{"policy": "' + CO.encode() + b'", "incident": {"id": NaN}}', 400, "not valid JSON"),
    (b"[" * 200 + b"]" * 200, 400, "not valid JSON"),
    (b'{"policy": "nope", "incident": {}}', 404, "no ruleset `nope`"),
    (b'{"policy": "' + CO.encode() + b'@", "incident": {}}', 404, "has no version after `@`"),
    (b'{"policy": "' + CO.encode() + b'"}', 422, "incident"),
    (json.dumps({"policy": CO, "incident": {**INCIDENT, "events": [{"type": "zzz", "at": "2024-01-01"}]}}).encode(),
     422, "unknown event type"),
    (b'{"policy": "' + CO.encode() + b'", "incident": {}, "x": "\\u001b[31m"}', 422, "x"),
])
def test_bad_requests_get_problem_documents(server: Server, body: bytes, status: int, words: str) -> None:
    r = httpx.post(server.url + "/v1/decide", content=body, timeout=30,
                   headers={"Authorization": f"Bearer {READ}", "content-type": "application/json"})
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert words in r.text
    _no_internals(r)


def test_a_body_too_large_is_refused_before_it_is_read(server: Server) -> None:
    r = httpx.post(server.url + "/v1/decide", content=b" " * (2 << 20), timeout=30,
                   headers={"Authorization": f"Bearer {READ}", "content-type": "application/json"})
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"


def _open(server: Server, iid: str = "INC-1") -> None:
    r = server.call("PUT", f"/v1/incidents/{iid}", token=WRITE,
                    json={"policy": CO, "timezone": INCIDENT["timezone"], "facts": INCIDENT["facts"]})
    assert r.status_code in (200, 201), r.text


def _events(start: int = 0, stop: int | None = None) -> list[dict[str, Any]]:
    return [{"event_id": f"ev-{k}", "event": e} for k, e in enumerate(INCIDENT["events"])][start:stop]


def test_events_appended_with_retries_give_the_batch_decision(server: Server) -> None:
    _open(server)
    _open(server)  # opening again with the same content is harmless
    other = server.call("PUT", "/v1/incidents/INC-1", token=WRITE,
                        json={"policy": CO, "timezone": "UTC", "facts": INCIDENT["facts"]})
    assert other.status_code == 409
    first = server.call("POST", "/v1/incidents/INC-1/events", token=WRITE, json={"events": _events(0, 2)})
    assert first.status_code == 200 and first.json()["appended"] == 2
    again = server.call("POST", "/v1/incidents/INC-1/events", token=WRITE, json={"events": _events()})
    assert again.json()["appended"] == len(INCIDENT["events"]) - 2
    retry = server.call("POST", "/v1/incidents/INC-1/events", token=WRITE, json={"events": _events()})
    assert retry.json()["appended"] == 0 and retry.json()["decision"] == again.json()["decision"]
    batch = server.call("POST", "/v1/decide", json={"policy": CO, "incident": {**INCIDENT, "id": "INC-1"}}).json()
    assert again.json()["decision"] == batch
    assert server.call("GET", "/v1/incidents/INC-1/decision").json() == batch
    changed = [{"event_id": "ev-0", "event": {**INCIDENT["events"][0], "at": "2024-01-17T20:00:00-07:00"}}]
    assert server.call("POST", "/v1/incidents/INC-1/events", token=WRITE, json={"events": changed}).status_code == 409
    bad = [{"event_id": "ev-new", "event": {"type": "no_such_event", "at": "2024-01-30T10:00:00-07:00"}}]
    refused = server.call("POST", "/v1/incidents/INC-1/events", token=WRITE, json={"events": bad})
    assert refused.status_code == 422 and "no_such_event" in refused.text
    assert server.call("GET", "/v1/incidents/INC-1/decision").json() == batch  # nothing of it was stored
    assert server.call("POST", "/v1/incidents/NOPE/events", token=WRITE, json={"events": bad}).status_code == 404


def test_rulesets_versions_canonical_form_and_diff(server: Server) -> None:
    ids = [r["id"] for r in server.call("GET", "/v1/rulesets").json()]
    assert CO in ids and ids == sorted(ids)
    versions = server.call("GET", f"/v1/rulesets/{CO}").json()["versions"]
    one = server.call("GET", f"/v1/rulesets/{CO}/versions/{versions[0]['version']}").json()
    assert one["digest"] == versions[0]["digest"] and one["canonical"]["ruleset"] == CO
    d = server.call("GET", f"/v1/rulesets/{CO}/diff", params={"from": versions[0]["version"],
                                                               "to": versions[-1]["version"]})
    assert d.status_code == 200 and d.json()["old"] == f"{CO}@{versions[0]['version']}"
    assert server.call("GET", f"/v1/rulesets/{CO}/versions/9.9.9").status_code == 404
    spec = httpx.get(server.url + "/v1/openapi.json", timeout=30).json()
    assert {"/v1/decide", "/v1/decide/batch", "/v1/explain", "/v1/incidents/{incident_id}/events",
            "/v1/decisions/{decision_id}"} <= set(spec["paths"])
    assert "Decision" in json.dumps(spec["components"]["schemas"])


def test_acknowledged_events_survive_kill_9(tmp_path: Path, store_url: str) -> None:
    server = Server(tmp_path, store_url).start()
    _open(server)
    acknowledged: list[str] = []
    events = INCIDENT["events"]
    stop_at = 40
    for k in range(200):
        event = {**events[k % len(events)], "at": f"2024-02-01T10:{k // 60:02d}:{k % 60:02d}-07:00"}
        r = server.call("POST", "/v1/incidents/INC-1/events", token=WRITE,
                        json={"events": [{"event_id": f"burst-{k}", "event": event}]})
        if r.status_code == 200:
            acknowledged.append(f"burst-{k}")
        if k == stop_at:
            server.proc.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
            server.proc.wait(timeout=30)  # type: ignore[union-attr]
            break
    assert len(acknowledged) == stop_at + 1
    with _database(store_url).connect() as db:
        stored = {row[0] for row in db.execute(sa.text("SELECT event_id FROM events WHERE incident_id = 'INC-1'"))}
    assert set(acknowledged) <= stored
    server = Server(tmp_path, store_url).start()
    try:
        assert server.call("GET", "/v1/decisions-log/verify", token=ADMIN).json()["ok"]
        decided = server.call("GET", "/v1/incidents/INC-1/decision")
        assert decided.status_code == 200
    finally:
        server.stop()
    code, out, _ = run_cli(["log", "verify", "--store", server.store], cwd=tmp_path)
    assert code == 0 and "the chain holds" in out


def _around_trigger(db: sa.Connection, trigger: str) -> None:
    """What someone with write access to the database does to get past an append-only trigger: drop it
    (SQLite: anyone who can write the file), or disable it (PostgreSQL: the tables' owner)."""
    if db.dialect.name == "sqlite":
        db.execute(sa.text(f"DROP TRIGGER {trigger}"))
    else:
        db.execute(sa.text(f"ALTER TABLE decisions DISABLE TRIGGER {trigger}"))


def test_log_verify_catches_an_edited_or_removed_entry(tmp_path: Path, store_url: str) -> None:
    server = Server(tmp_path, store_url).start()
    for k in range(3):
        server.call("POST", "/v1/decide", json={"policy": CO, "incident": {**INCIDENT, "id": f"I-{k}"}})
    head = server.call("GET", "/v1/decisions-log/verify", token=ADMIN).json()["head"]
    # It said "every request answered before it was stored", the opposite of what the service promises.
    assert "bwc: terminated; every write it answered was stored before its answer" in server.stop()
    store = server.store
    code, out, _ = run_cli(["log", "verify", "--store", store, "--head", head], cwd=tmp_path)
    assert code == 0 and "3 entries" in out
    with _database(store_url).connect() as db:
        for change in ("UPDATE decisions SET as_of = '2020-01-01T00:00:00Z' WHERE seq = 2",
                       "DELETE FROM decisions WHERE seq = 3"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):  # the triggers refuse it through SQL
                db.execute(sa.text(change))
            db.rollback()
        _around_trigger(db, "decisions_append_only_u")  # someone with the database goes around them
        db.execute(sa.text("UPDATE decisions SET as_of = '2020-01-01T00:00:00Z' WHERE seq = 2"))
        db.commit()
        code, _, err = run_cli(["log", "verify", "--store", store], cwd=tmp_path)
        assert code == 1 and "entry 2" in err and "was edited" in err
        _around_trigger(db, "decisions_append_only_d")
        db.execute(sa.text("DELETE FROM decisions WHERE seq >= 2"))
        db.commit()
    code, out, _ = run_cli(["log", "verify", "--store", store], cwd=tmp_path)
    assert code == 0  # a shorter chain is a valid chain ...
    code, _, err = run_cli(["log", "verify", "--store", store, "--head", head], cwd=tmp_path)
    assert code == 1 and "removed from the end" in err  # ... but not the one whose head was saved


def test_log_verify_refuses_a_mistyped_head_before_reading_the_log(tmp_path: Path) -> None:
    """A head that is not 64 hexadecimal digits was reported as a problem of the log, and the command went on
    to say "the decision log … was altered" of a log that was whole."""
    store = f"sqlite:///{tmp_path / 'bwc.db'}"
    Store(store).close()
    for head in ("deadbeef", "g" * 64, "\x1b[31m"):
        code, out, err = run_cli(["log", "verify", "--store", store, "--head", head], cwd=tmp_path)
        assert code == 2 and out == "" and "is not a head" in err and "altered" not in err, err
        assert "\x1b" not in err
    code, out, _ = run_cli(["log", "verify", "--store", store, "--head", "0" * 64], cwd=tmp_path)
    assert code == 1  # well formed, so the log is read: no entry has that hash


def test_verify_and_replay_refuse_a_store_that_is_not_there(tmp_path: Path, store_url: str) -> None:
    """`log verify` and `replay` read a store: on a mistyped path (a new SQLite file, a PostgreSQL database
    bwc never used) they once made an empty store and said "0 entries, the chain holds"."""
    for argv in (["log", "verify", "--store", store_url],
                 ["replay", "--rulesets", str(ROOT / "rulesets"), "--store", store_url, f"{CO}@2021.2.0"]):
        code, out, err = run_cli(argv, cwd=tmp_path)
        assert code == 1 and out == "" and "no store at" in err and "Traceback" not in err, (argv, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing made (SQLite: no file, no -writer)
    if store_url.startswith("postgresql"):
        with _database(store_url).connect() as db:
            assert sa.inspect(db).get_table_names() == []
    Store(store_url).close()  # made, as `serve` and `import` make one
    code, out, _ = run_cli(["log", "verify", "--store", store_url], cwd=tmp_path)
    assert code == 0 and "0 entries, the chain holds" in out


def test_serve_refuses_to_start_without_tokens_or_with_a_bad_store(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "BWC_TOKENS"}
    done = subprocess.run([sys.executable, "-m", "engine.cli", "serve", "--rulesets", str(ROOT / "rulesets"),
                           "--port", "0"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "BWC_TOKENS" in done.stderr and "Traceback" not in done.stderr
    assert "every call but /healthz, /readyz and /v1/openapi.json needs a bearer token" in done.stderr
    done = subprocess.run([sys.executable, "-m", "engine.cli", "serve", "--rulesets", str(ROOT / "rulesets"),
                           "--store", "postgres://nowhere", "--port", "0"], cwd=tmp_path,
                          env={**env, "BWC_TOKENS": f"read:{READ}"}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "not a store URL" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run([sys.executable, "-m", "engine.cli", "serve", "--rulesets", str(ROOT / "rulesets"),
                           "--port", "0"], cwd=tmp_path, env={**env, "BWC_TOKENS": "read:short"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "at least 16" in done.stderr


@pytest.fixture()
def postgres_url() -> Iterator[str]:
    """A new PostgreSQL database (for the tests of what only PostgreSQL has: several servers at once)."""
    with postgres_database() as url:
        yield url


def test_two_servers_writing_at_once_keep_the_chain(tmp_path: Path, postgres_url: str) -> None:
    # Both started together on a new database: both run the migrations, one after the other.
    servers = [Server(tmp_path, postgres_url).launch(), Server(tmp_path, postgres_url).launch()]
    try:
        for s in servers:
            s.ready()
        _open(servers[0])
        failed: list[str] = []
        rounds = 12

        def work(server: Server, first: int) -> None:
            for k in range(first, first + rounds):
                decided = server.call("POST", "/v1/decide",
                                      json={"policy": CO, "incident": {**INCIDENT, "id": f"C-{k}"}})
                event = {**INCIDENT["events"][0], "at": f"2024-02-01T1{k // 60}:{k % 60:02d}:00-07:00"}
                appended = server.call("POST", "/v1/incidents/INC-1/events", token=WRITE,
                                       json={"events": [{"event_id": f"w-{k}", "event": event}]})
                failed.extend(f"{r.request.url.path}: {r.status_code} {r.text}" for r in (decided, appended)
                              if r.status_code != 200)

        workers = [threading.Thread(target=work, args=(servers[i % 2], i * rounds)) for i in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert not failed, failed[:3]
        verified = servers[1].call("GET", "/v1/decisions-log/verify", token=ADMIN).json()
        assert verified["ok"] and verified["entries"] == 4 * rounds * 2, verified
        with _database(postgres_url).connect() as db:
            seqs = [r[0] for r in db.execute(sa.text("SELECT seq FROM events WHERE incident_id = 'INC-1' "
                                                     "ORDER BY seq"))]
        assert seqs == list(range(1, 4 * rounds + 1))  # every append numbered, none twice
    finally:
        for s in servers:
            if s.proc is not None and s.proc.poll() is None:
                s.stop()


def test_stores_writing_the_log_at_once_keep_the_chain(postgres_url: str) -> None:
    """Many threads of two stores (two pools, as two servers have) appending to the log at once."""
    stores = [Store(postgres_url), Store(postgres_url)]
    errors: list[BaseException] = []

    def append(store: Store, worker: int) -> None:
        try:
            for k in range(25):
                store.record({"decision_id": f"d-{worker}-{k}", "incident_id": "I", "ruleset": CO, "version": "1",
                              "digest": "sha256:0", "input_digest": "sha256:1", "as_of": "2024-01-01T00:00:00Z",
                              "recorded_at": "2024-01-01T00:00:00Z", "decision": "{}"})
        except BaseException as exc:  # reported by the test's own thread, below
            errors.append(exc)

    workers = [threading.Thread(target=append, args=(stores[i % 2], i)) for i in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    try:
        assert not errors, errors[:3]
        result = stores[0].verify()
        assert result.ok and result.entries == 8 * 25, result.problems[:3]
    finally:
        for store in stores:
            store.close()


def test_a_store_at_a_newer_schema_is_refused(store_url: str) -> None:
    Store(store_url).close()
    with _database(store_url).connect() as db:
        db.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))  # as a newer bwc leaves it
        db.commit()
    with pytest.raises(StoreError, match=r"9999.*newer bwc"):
        Store(store_url)


def test_store_errors_are_plain_and_never_show_the_password(tmp_path: Path) -> None:
    secret = "s3cret-Passw0rd"
    nobody = _port()  # a port nothing listens on
    for url, words in ((f"postgresql://bwc:{secret}@127.0.0.1:port/db", "not a store URL"),
                       (f"mysql://bwc:{secret}@127.0.0.1/db", "not a store URL"),
                       (f"postgresql://bwc:{secret}@127.0.0.1:{nobody}/db", "cannot open the store"),
                       (f"postgresql+psycopg://bwc:{secret}@127.0.0.1:{nobody}/db", "Connection refused"),
                       (f"postgresql://bwc@127.0.0.1:{nobody}/db?password={secret}", "cannot open the store")):
        with pytest.raises(StoreError) as caught:
            Store(url)
        assert words in str(caught.value) and secret not in str(caught.value) and "***" in str(caught.value)
    code, out, err = run_cli(["log", "verify", "--store", f"postgresql://bwc:{secret}@127.0.0.1:{nobody}/db"],
                             cwd=tmp_path)
    assert code == 1 and "cannot open the store" in err and secret not in out + err and "Traceback" not in err


def test_a_sqlite_store_is_a_file_bwc_can_keep_and_nothing_else_is_touched(tmp_path: Path) -> None:
    """A user's document, a folder, a named pipe, or SQLite's memory (which keeps nothing once the command ends) named
    as the store is refused in plain words, and nothing is written into or beside it (the writers'
    `-writer` lock file once was). An empty file is a new store."""
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n", encoding="utf-8")
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "pipe")  # opened to read, a named pipe would wait for a writer: never opened
    for url, words in (("sqlite:///notes.txt", "notes.txt: the file is not an SQLite database"),
                       ("sqlite:///folder", "folder: it is a folder; name a file in it"),
                       ("sqlite:///pipe", "pipe: it is not a regular file"),
                       ("sqlite:///:memory:", "names no file, and a store in memory would keep nothing"),
                       ("sqlite:///%3Amemory%3A", "names no file"), ("sqlite:///", "names no file")):
        code, _, err = run_cli(["log", "verify", "--store", url], cwd=tmp_path)
        assert code == 1 and words in err and "Traceback" not in err, (url, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "notes.txt", "pipe"]
    assert notes.read_text(encoding="utf-8") == "my notes\n" and not any((tmp_path / "folder").iterdir())
    (tmp_path / "empty.db").touch()
    with Store(f"sqlite:///{tmp_path / 'empty.db'}") as store:
        assert store.reachable()
    assert (tmp_path / "empty.db").read_bytes().startswith(b"SQLite format 3\x00")


def _import(store: str, folder: Path) -> tuple[int, str]:
    """`bwc import` of one incident into `store`, run in `folder`: (exit code, what it said on stderr)."""
    export = folder / "export.jsonl"
    export.write_text(json.dumps(INCIDENT) + "\n", encoding="utf-8")
    try:
        code, _, err = run_cli(["import", "--rulesets", str(ROOT / "rulesets"), "--store", store, "--policy", CO,
                                str(export)], cwd=folder)
    finally:
        export.unlink()
    return code, err


def _files(folder: Path) -> dict[str, bytes | str]:
    """What `folder` holds: each file's bytes, each link's target."""
    return {p.name: os.readlink(p) if p.is_symlink() else p.read_bytes() for p in sorted(folder.iterdir())}


def _schema(db: sa.Connection, schema: str = "public") -> dict[str, list[str]]:
    """The tables and views of one schema of a PostgreSQL database."""
    seen = sa.inspect(db)
    return {"tables": sorted(seen.get_table_names(schema)), "views": sorted(seen.get_view_names(schema))}


def test_another_programs_postgresql_schema_is_refused_untouched(tmp_path: Path) -> None:
    """A PostgreSQL database whose schema holds another program's tables is refused, as an SQLite file is:
    bwc once added its tables beside them (or met its own names there: "relation incidents already exists"),
    and took another program's Alembic record for its own ("a newer bwc upgraded it"). A schema of bwc's
    own, named by the URL's search path, sits beside them; the URL's `options` were once dropped."""
    with postgres_database() as url:
        engine = _database(url)
        with engine.connect() as db:
            db.execute(sa.text("CREATE TABLE users (name TEXT)"))
            db.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
            db.execute(sa.text("INSERT INTO alembic_version VALUES ('ae1027a6acf')"))
            db.execute(sa.text("CREATE SCHEMA bwc_store"))
            db.commit()
            before = _schema(db)
        for argv in (None, ["log", "verify", "--store", url],
                     ["replay", "--rulesets", str(ROOT / "rulesets"), "--store", url, f"{CO}@2021.2.0"]):
            code, err = _import(url, tmp_path) if argv is None else run_cli(argv, cwd=tmp_path)[::2]
            assert code == 1 and "Traceback" not in err, err
            assert ("its schema `public` holds tables bwc did not make (`alembic_version`, `users`), so bwc leaves "
                    "it as it is; give bwc a database of its own, or a schema of its own") in err, err
            assert "newer bwc" not in err
        with pytest.raises(StoreError, match="holds tables bwc did not make"):
            Store(url)
        own = url + "?options=-csearch_path%3Dbwc_store"
        code, err = _import(own, tmp_path)
        assert code == 0, err
        code, out, _ = run_cli(["log", "verify", "--store", own], cwd=tmp_path)
        assert code == 0 and "the chain holds" in out
        nowhere = url + "?options=-csearch_path%3Dno_such_schema"
        code, err = _import(nowhere, tmp_path)
        assert code == 1 and "no schema of its search path exists" in err and "Traceback" not in err, err
        with engine.connect() as db:
            assert _schema(db) == before  # untouched
            assert {"alembic_version", "decisions", "incidents", "events"} <= set(_schema(db, "bwc_store")["tables"])
            with Store(own) as store:  # durable whatever the URL's options: ours are added to them
                assert store.postgres
            assert db.execute(sa.text("SELECT count(*) FROM bwc_store.incidents")).scalar() == 1
        engine.dispose()


def test_another_programs_sqlite_database_is_refused_untouched(tmp_path: Path) -> None:
    """A SQLite database bwc did not make (another program's, with tables of its own) is refused by `bwc
    import` and `bwc serve` alike, and nothing is written into or beside it: no bwc table, no `-writer`
    file, not even the switch to WAL mode; in WAL mode and in use, with its tables in the log alone, too."""
    with sqlite3.connect(tmp_path / "other.db") as db:
        db.execute("CREATE TABLE users (name TEXT)")
        db.execute("INSERT INTO users VALUES ('ada')")
    db.close()
    before = _files(tmp_path)
    code, err = _import("sqlite:///other.db", tmp_path)
    assert code == 1 and "Traceback" not in err, err
    assert ("cannot open the store other.db: it is an SQLite database bwc did not make, holding tables of its own "
            "(`users`), so bwc leaves it as it is") in err
    env = {**os.environ, "BWC_TOKENS": f"read:{READ}"}
    done = subprocess.run([sys.executable, "-m", "engine.cli", "serve", "--rulesets", str(ROOT / "rulesets"),
                           "--store", "sqlite:///other.db", "--port", "0"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "bwc did not make" in done.stderr and "Traceback" not in done.stderr
    assert _files(tmp_path) == before
    # In use by its program, in WAL mode: its tables are in the write-ahead log, not yet in the file.
    busy = sqlite3.connect(tmp_path / "busy.db", isolation_level=None)
    try:
        busy.execute("PRAGMA journal_mode=WAL")
        busy.execute("CREATE TABLE orders (n INTEGER)")
        before = _files(tmp_path)
        with pytest.raises(StoreError, match=r"busy\.db: it is an SQLite database bwc did not make.*`orders`"):
            Store(f"sqlite:///{tmp_path / 'busy.db'}")
        after = _files(tmp_path)
        assert after.keys() == before.keys()  # the `-shm` index's read marks move as any reader's do
        assert {k: v for k, v in after.items() if k != "busy.db-shm"} == {
            k: v for k, v in before.items() if k != "busy.db-shm"}
    finally:
        busy.close()


def test_a_store_that_cannot_be_opened_leaves_nothing_beside_it_and_says_why(tmp_path: Path) -> None:
    """A file that begins as a SQLite database but is not one, a store cut short or damaged, a link to
    nothing, a missing folder: each refused in plain words, with no `-writer` lock file left beside it.
    A lock file that was there already (not made by this bwc) stays."""
    good = tmp_path / "good.db"
    with Store(f"sqlite:///{good}") as store:
        store.record({"decision_id": "d-1", "incident_id": "I", "ruleset": CO, "version": "1", "digest": "sha256:0",
                      "input_digest": "sha256:1", "as_of": "2024-01-01T00:00:00Z",
                      "recorded_at": "2024-01-01T00:00:00Z", "decision": "{}"})
    stored = good.read_bytes()
    folder = tmp_path / "try"
    folder.mkdir()
    (folder / "fake.db").write_bytes(b"SQLite format 3\x00garbage")
    (folder / "cut.db").write_bytes(stored[: len(stored) // 2])
    damaged = bytearray(stored)  # the page of Alembic's version table overwritten: readable until a migration
    with sqlite3.connect(good) as db:
        page = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'alembic_version'").fetchone()[0]
        size = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    damaged[(page - 1) * size: page * size] = b"\xff" * size
    (folder / "damaged.db").write_bytes(bytes(damaged))
    (folder / "dangling.db").symlink_to("nowhere.db")
    (folder / "far.db").symlink_to(tmp_path / "no-such-folder" / "x.db")
    before = _files(folder)
    for name, words in (("fake.db", "fake.db: it begins as an SQLite database, but SQLite cannot read it (file is "
                                    "not a database)"),
                        ("cut.db", "cut.db: it begins as an SQLite database, but SQLite cannot read it (database "
                                   "disk image is malformed)"),
                        ("damaged.db", "damaged.db: database disk image is malformed"),
                        ("dangling.db", "dangling.db: it is a symbolic link to nowhere.db, which does not exist"),
                        ("far.db", f"far.db: it is a symbolic link to {tmp_path / 'no-such-folder' / 'x.db'}, "
                                   "which does not exist"),
                        ("nodir/x.db", "nodir/x.db: the folder nodir does not exist; create it first"),
                        ("fake.db/x.db", "fake.db/x.db: fake.db is not a folder")):
        code, err = _import(f"sqlite:///{name}", folder)
        assert code == 1 and f"cannot open the store {words}" in err and "Traceback" not in err, (name, err)
        assert _files(folder) == before, name
    (folder / "damaged.db-writer").write_bytes(b"")  # there before: not this bwc's to remove
    code, err = _import("sqlite:///damaged.db", folder)
    assert code == 1 and "database disk image is malformed" in err
    assert _files(folder) == {**before, "damaged.db-writer": b""}


def test_an_older_store_and_an_empty_database_still_open(tmp_path: Path) -> None:
    """What bwc made is still its to open: a store at an older schema revision is upgraded, keeping what
    it held; and a SQLite database with nothing in it yet is a new store, like an empty file."""
    from alembic import command
    from alembic.config import Config

    from engine.service.migrations import HERE

    old = tmp_path / "old.db"
    with _database(f"sqlite:///{old}").begin() as db:  # as the bwc of revision 0001 left it
        config = Config()
        config.set_main_option("script_location", str(HERE))
        config.attributes["connection"] = db
        command.upgrade(config, "0001")
        db.execute(sa.text("INSERT INTO incidents VALUES ('I-1', :p, 'UTC', '{}', '2024-01-01T00:00:00Z', NULL)"),
                   {"p": CO})
    code, err = _import(f"sqlite:///{old}", tmp_path)
    assert code == 0 and "1 incident(s) stored" in err, err
    with sqlite3.connect(old) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() != [("0001",)]
        assert db.execute("SELECT count(*) FROM incidents").fetchone() == (2,)
        assert db.execute("SELECT count(*) FROM replays").fetchone() == (0,)  # made by revision 0002
    db.close()
    with sqlite3.connect(tmp_path / "blank.db") as db:
        db.execute("PRAGMA user_version = 7")  # a database file, with no table in it
    db.close()
    code, err = _import("sqlite:///blank.db", tmp_path)
    assert code == 0 and "1 incident(s) stored" in err, err


def test_wrong_postgres_credentials_are_a_plain_error(postgres_url: str) -> None:
    wrong = sa.make_url(postgres_url).set(password="not-the-password").render_as_string(hide_password=False)
    with pytest.raises(StoreError, match="password authentication failed") as caught:
        Store(wrong)
    assert "not-the-password" not in str(caught.value)


# --- several worker processes behind one port (`bwc serve --workers 2`) ----------------------------------

def worker_client(server: Server, *, not_on: Collection[int] = ()) -> tuple[httpx.Client, int]:
    """A keep-alive client whose connection is served by a worker whose pid is not in `not_on` (the
    kernel hands each new connection to one of the workers), and that worker's pid, which every
    worker tells in its metrics."""
    for _ in range(200):
        client = httpx.Client(base_url=server.url, timeout=30, headers={"Authorization": f"Bearer {ADMIN}"})
        text = client.get("/metrics").text
        pid = int(text.split('bwc_worker{pid="', 1)[1].split('"', 1)[0])
        if pid not in not_on:
            return client, pid
        client.close()
    raise AssertionError(f"no connection reached a worker other than {not_on} in 200 tries")


def test_two_workers_share_the_log_and_the_incidents(tmp_path: Path, store_url: str) -> None:
    server = Server(tmp_path, store_url, ("--workers", "2")).start()
    try:
        first, a = worker_client(server)
        second, b = worker_client(server, not_on={a})
        clients = [first, second]
        assert first.put("/v1/incidents/INC-1", json={"policy": CO, "timezone": INCIDENT["timezone"],
                                                      "facts": INCIDENT["facts"]}).status_code == 201
        failed: list[str] = []
        rounds = 15

        def work(client: httpx.Client, first_k: int) -> None:
            for k in range(first_k, first_k + rounds):
                decided = client.post("/v1/decide", json={"policy": CO, "incident": {**INCIDENT, "id": f"C-{k}"}})
                event = {**INCIDENT["events"][0], "at": f"2024-02-01T1{k // 60}:{k % 60:02d}:00-07:00"}
                appended = client.post("/v1/incidents/INC-1/events", json={"events": [{"event_id": f"w-{k}",
                                                                                         "event": event}]})
                failed.extend(f"{r.request.url.path}: {r.status_code} {r.text}" for r in (decided, appended)
                              if r.status_code != 200)

        # httpx clients are not shared between threads: one client (one worker) per thread
        extra = [worker_client(server, not_on={b})[0], worker_client(server, not_on={a})[0]]
        threads = [threading.Thread(target=work, args=(c, i * rounds)) for i, c in enumerate([*clients, *extra])]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not failed, failed[:3]
        verified = second.get("/v1/decisions-log/verify").json()
        assert verified["ok"] and verified["entries"] == 4 * rounds * 2, verified
        with _database(store_url).connect() as db:
            seqs = [r[0] for r in db.execute(sa.text("SELECT seq FROM events WHERE incident_id = 'INC-1' "
                                                     "ORDER BY seq"))]
        assert seqs == list(range(1, 4 * rounds + 1))  # every append numbered, none twice
        # Each worker's answer for the incident is the decision of every event stored, whoever stored it.
        answers = [c.get("/v1/incidents/INC-1/decision").json() for c in clients]
        assert answers[0] == answers[1]
        for c in [*clients, *extra]:
            c.close()
        os.kill(a, signal.SIGKILL)  # a worker dies: another takes its place, and the service goes on
        replaced, _ = worker_client(server, not_on={a, b})
        assert replaced.post("/v1/decide", json={"policy": CO, "incident": INCIDENT}).status_code == 200
        replaced.close()
    finally:
        err = server.stop()
    assert f"worker {a} ended (killed by signal 9); starting another" in err
    assert server.proc is not None and server.proc.returncode == 128 + signal.SIGTERM


_TEXT = st.text(st.characters(exclude_categories=["Cs"]))  # any text JSON can carry (no lone surrogate)


@given(prev=_TEXT, seq=st.integers(1, (1 << 62) - 1), fields=st.dictionaries(_TEXT, _TEXT, max_size=12))
def test_the_entry_hash_is_of_the_canonical_json(prev: str, seq: int, fields: dict[str, str]) -> None:
    """The log's hashes are taken over orjson's output directly (faster): it must be dumps_canonical's,
    byte for byte, or entries recorded by one bwc would not verify with another."""
    entry = {**fields, "seq": seq}
    assert entry_hash(prev, entry) == hashlib.sha256((prev + "\n" + dumps_canonical(entry)).encode()).hexdigest()


def test_decide_answers_the_same_on_its_fast_path_and_off_it(server: Server) -> None:
    """A decide that succeeds skips FastAPI's machinery (app.py, `_FastDecide`); every other is handed
    to the app with its body replayed. Both count in the metrics under the route, and a body sent in
    chunks past --max-body is refused on either."""
    body = {"policy": CO, "incident": INCIDENT}
    fast = server.call("POST", "/v1/decide", json=body)
    slow = server.call("POST", "/v1/decide", content=json.dumps(body).encode(),  # +json: FastAPI's to read
                       headers={"content-type": "application/vnd.bwc+json"})
    charset = server.call("POST", "/v1/decide", content=json.dumps(body).encode(),
                          headers={"content-type": "application/json; charset=utf-8"})
    assert fast.status_code == slow.status_code == charset.status_code == 200
    assert fast.content == slow.content == charset.content and fast.headers["content-type"] == "application/json"
    wrong = server.call("POST", "/v1/decide", json={**body, "policy": "nope"})  # handed over: a 404 document
    assert wrong.status_code == 404 and wrong.headers["content-type"] == "application/problem+json"
    extra = server.call("POST", "/v1/decide", json={**body, "more": 1})
    assert extra.status_code == 422 and extra.json()["errors"][0]["where"] == "body.more"
    as_form = server.call("POST", "/v1/decide", content=json.dumps(body).encode(),
                          headers={"content-type": "text/plain"})
    assert as_form.status_code == 422

    def chunks() -> Iterator[bytes]:
        for _ in range(3):
            yield b" " * (1 << 20)
    big = httpx.post(server.url + "/v1/decide", content=chunks(), timeout=30,
                     headers={"Authorization": f"Bearer {READ}", "content-type": "application/json"})
    assert big.status_code == 413 and big.headers["content-type"] == "application/problem+json"
    metrics = server.call("GET", "/metrics").text
    assert 'bwc_requests_total{method="POST",route="/v1/decide",status="200"} 3.0' in metrics  # both paths
    assert 'bwc_requests_total{method="POST",route="/v1/decide",status="404"} 1.0' in metrics
    lines = server.call("GET", "/v1/decisions").text.splitlines()
    assert len(lines) == 3 and server.call("GET", "/v1/decisions-log/verify", token=ADMIN).json()["ok"]
