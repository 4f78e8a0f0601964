"""Loading a ruleset version into the running service, and replaying stored incidents under it: over
HTTP against a real `bwc serve`, and with `bwc replay` on the same store. The replay's report is the
report `bwc impact` gives for the same incidents."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import test_service
from cli_runner import run_cli
from test_service import ADMIN, READ, ROOT, WRITE, Server, _database, worker_client

from engine.executor import default_workers
from engine.service.replay import this_machine

store_url = test_service.store_url  # each test that asks for it runs on SQLite and on PostgreSQL

IL = "illinois-50-ilcs-706-10-20"
YAML = {"Content-Type": "application/yaml"}


def _candidate(version: str = "2026.1.0", keep: str = "P120D") -> str:
    """Illinois 2021.2.0 as a draft that keeps every recording `keep` instead of 90 days."""
    text = (ROOT / "rulesets" / IL / "2021.2.0.yaml").read_text(encoding="utf-8")
    text = text.replace("version: 2021.2.0", f"version: {version}", 1).replace("status: adopted", "status: draft", 1)
    text = text.replace("corrects: 2021.1.0\n", "", 1)
    assert "retain: {at_least: P90D, after: incident}" in text
    return text.replace("retain: {at_least: P90D, after: incident}", f"retain: {{at_least: {keep}, after: incident}}")


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "incidents.jsonl"
    code, _, err = run_cli(["generate", "--rulesets", str(ROOT / "rulesets"), "--policy", IL, "--incidents", "40",
                            "--seed", "7", "--months", "4", str(out)])
    assert code == 0, err
    return out


@pytest.fixture()
def stored(tmp_path: Path, export: Path) -> Iterator[Server]:
    """A server whose store holds every incident of `export`, sent as a client would: opened, then its
    events appended in two requests."""
    server = Server(tmp_path).start()
    try:
        for line in export.read_text(encoding="utf-8").splitlines():
            incident = json.loads(line)
            iid = incident["id"]
            opened = server.call("PUT", f"/v1/incidents/{iid}", token=WRITE,
                                 json={"policy": IL, "timezone": incident["timezone"], "facts": incident["facts"]})
            assert opened.status_code == 201, opened.text
            events = [{"event_id": str(k), "event": e} for k, e in enumerate(incident["events"])]
            for part in (events[:3], events[3:]):
                if part:
                    r = server.call("POST", f"/v1/incidents/{iid}/events", token=WRITE, json={"events": part})
                    assert r.status_code == 200, r.text
        yield server
    finally:
        if server.proc is not None and server.proc.poll() is None:
            server.stop()


def _load(server: Server, text: str, version: str = "2026.1.0", token: str = ADMIN) -> Any:
    return server.call("PUT", f"/v1/rulesets/{IL}/versions/{version}", token=token, content=text.encode(),
                       headers={**YAML, "Authorization": f"Bearer {token}"})


def _unordered(report: dict[str, Any]) -> dict[str, Any]:
    """An impact report with its lists of incidents sorted and without the first few examples of each
    change: a replay reads incidents in the order of their first event, `bwc impact` in the order of the
    export."""
    def sort(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: sort(v) for k, v in value.items() if k != "examples"}
        if isinstance(value, list):
            items = [sort(v) for v in value]
            return sorted(items, key=json.dumps)
        return value
    return sort(report)  # type: ignore[no-any-return]


def _finished(server: Server, location: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job: dict[str, Any] = server.call("GET", location).json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"the replay at {location} did not finish in 120 s")


def test_a_loaded_version_is_checked_decides_and_survives_a_restart(tmp_path: Path, store_url: str) -> None:
    server = Server(tmp_path, store_url).start()
    try:
        loaded = _load(server, _candidate())
        assert loaded.status_code == 201, loaded.text
        body = loaded.json()
        assert (body["id"], body["version"], body["loaded"]) == (IL, "2026.1.0", True)
        assert body["digest"].startswith("sha256:")
        again = _load(server, _candidate())
        assert again.status_code == 200 and again.json() == {**body, "loaded": False}
        changed = _load(server, _candidate(keep="P150D"))  # a loaded version never changes
        assert changed.status_code == 422 and changed.headers["content-type"] == "application/problem+json"
        (problem,) = changed.json()["problems"]
        assert problem["code"] == "BWC303" and problem["file"] == "request body" and problem["line"] == 3
        incident = json.loads((ROOT / "examples" / f"{IL}.json").read_text(encoding="utf-8"))
        decided = server.call("POST", "/v1/decide", json={"policy": f"{IL}@2026.1.0", "incident": incident})
        assert decided.status_code == 200 and decided.json()["ruleset"]["digest"] == body["digest"]
        server.stop()
        server.start()  # the same store: the loaded version is there again
        versions = server.call("GET", f"/v1/rulesets/{IL}").json()["versions"]
        assert {"version": "2026.1.0", "digest": body["digest"]}.items() <= versions[-1].items()
        assert server.call("GET", f"/v1/rulesets/{IL}/versions/2026.1.0").json()["digest"] == body["digest"]
    finally:
        if server.proc is not None and server.proc.poll() is None:
            server.stop()


def test_a_load_is_refused_with_the_reason(tmp_path: Path) -> None:
    server = Server(tmp_path).start()
    try:
        assert _load(server, _candidate(), token=WRITE).status_code == 403
        assert _load(server, _candidate(), token=READ).status_code == 403
        wrong_type = server.call("PUT", f"/v1/rulesets/{IL}/versions/2026.1.0", token=ADMIN, json={"a": 1})
        assert wrong_type.status_code == 415
        other = _load(server, _candidate(), version="2027.1.0")
        assert other.status_code == 422 and "2026.1.0" in other.json()["detail"]
        broken = _load(server, "ruleset: [unclosed\n")
        assert broken.status_code == 422
        assert all(p["file"] == "request body" and p["line"] for p in broken.json()["problems"])
        not_text = server.call("PUT", f"/v1/rulesets/{IL}/versions/2026.1.0", token=ADMIN, content=b"\xff\xfe",
                               headers=YAML)
        assert not_text.status_code == 400
        enacted = _candidate().replace("status: draft", "status: adopted", 1)  # overlaps 2021.3.0
        assert "BWC301" in {p["code"] for p in _load(server, enacted).json()["problems"]}
        assert [v["version"] for v in server.call("GET", f"/v1/rulesets/{IL}").json()["versions"]][-1] == "2021.3.0"
    finally:
        server.stop()


def test_replay_reports_what_bwc_impact_reports(stored: Server, export: Path, tmp_path: Path) -> None:
    assert _load(stored, _candidate()).status_code == 201
    started = stored.call("POST", "/v1/replays", token=WRITE, json={"candidate": f"{IL}@2026.1.0"})
    assert started.status_code == 202, started.text
    job = _finished(stored, started.headers["location"])
    assert job["state"] == "done", job["error"]
    assert job["baseline"] is None and job["report"]["a"] == f"{IL}@2021.3.0"
    assert job["progress"]["scanned"] == job["progress"]["decided"] == job["progress"]["incidents_in_period"] == 40
    report = job["report"]
    assert report["incidents"] == 40 and report["changed"] > 0  # the longer minimum moves retention dates
    candidate = tmp_path / "candidate" / "2026.1.0.yaml"
    candidate.parent.mkdir()
    candidate.write_text(_candidate(), encoding="utf-8")
    code, out, err = run_cli(["impact", "--rulesets", str(ROOT / "rulesets"), "--format", "json", "--workers", "1",
                              f"{IL}@2021.3.0", str(candidate), str(export)])
    assert code == 0, err
    expected = json.loads(out)
    assert _unordered({k: v for k, v in report.items() if k != "b"}) == \
        _unordered({k: v for k, v in expected.items() if k != "b"})
    assert [j["id"] for j in stored.call("GET", "/v1/replays").json()] == [job["id"]]
    # The same replay from the command line, on the same store, while the service runs.
    code, out, err = run_cli(["replay", "--rulesets", str(ROOT / "rulesets"), "--store", stored.store, "--format",
                              "json", "--workers", "2", f"{IL}@2026.1.0"], cwd=stored.folder)
    assert code == 0, err
    assert json.loads(out) == report


def test_replay_of_a_period_and_refusals(stored: Server, export: Path) -> None:
    assert _load(stored, _candidate()).status_code == 201
    firsts = sorted(min(datetime.fromisoformat(e["at"]) for e in json.loads(line)["events"])
                    for line in export.read_text(encoding="utf-8").splitlines())
    since, until = firsts[10].isoformat(), firsts[30].isoformat()  # 20 incidents, unless times tie
    started = stored.call("POST", "/v1/replays", token=WRITE,
                          json={"candidate": f"{IL}@2026.1.0", "baseline": f"{IL}@2021.1.0",
                                "since": since, "until": until})
    job = _finished(stored, started.headers["location"])
    assert job["state"] == "done" and job["report"]["a"] == f"{IL}@2021.1.0"
    inside = [t for t in firsts if firsts[10] <= t < firsts[30]]
    report = job["report"]  # some incidents use a fact 2021.1.0 does not declare: refused under it only
    replayed = report["incidents"] + sum(side["incidents"] for side in report["refused"].values()) + report["errors"]
    assert 0 < replayed == len(inside) == job["progress"]["scanned"] < 40
    for body, words in (({"candidate": IL}, "names no version"),
                        ({"candidate": f"{IL}@9.9.9"}, "no version"),
                        ({"candidate": "rulesets/x.yaml@1"}, "no ruleset"),
                        ({"candidate": f"{IL}@2026.1.0", "since": "2022-07-01"}, "since"),
                        ({"candidate": f"{IL}@2026.1.0", "since": until, "until": since}, "empty")):
        r = stored.call("POST", "/v1/replays", token=WRITE, json=body)
        assert r.status_code == 422 and words in r.json()["detail"], (body, r.text)
    assert stored.call("POST", "/v1/replays", token=READ, json={"candidate": f"{IL}@2026.1.0"}).status_code == 403
    assert stored.call("GET", "/v1/replays/nope").status_code == 404
    code, _, err = run_cli(["replay", "--rulesets", str(ROOT / "rulesets"), "--store", stored.store, f"{IL}@9.9.9"],
                           cwd=stored.folder)
    assert code != 0 and "Traceback" not in err and "no version" in err


def test_import_an_export_then_replay_it(export: Path, tmp_path: Path, store_url: str) -> None:
    """`bwc import` stores what the service would accept, reports the rest by line, and adds nothing the
    second time; `bwc replay` over that store reports what `bwc impact` reports over the export."""
    bad = tmp_path / "with-bad-lines.jsonl"
    lines = export.read_text(encoding="utf-8").splitlines()
    broken = json.loads(lines[0]) | {"id": "BAD-1", "events": [{"type": "no_such_event", "at": "2022-01-01T00:00:00Z"}]}
    # ids no store can keep (PostgreSQL once failed the whole import on them): refused alone, on both stores
    nul, long = json.loads(lines[1]) | {"id": "BAD\u00002"}, json.loads(lines[2]) | {"id": "B" * 201}
    bad.write_text("\n".join([*lines, "{not json", json.dumps(broken), json.dumps(nul), json.dumps(long)]) + "\n",
                   encoding="utf-8")
    store = store_url
    code, _, err = run_cli(["import", "--rulesets", str(ROOT / "rulesets"), "--store", store, "--policy", IL, str(bad)],
                           cwd=tmp_path)
    assert code == 1 and "Traceback" not in err
    assert f"{bad}:41:" in err and f"{bad}:42:" in err and "no_such_event" in err
    assert f"{bad}:43: the incident's id holds a NUL character (U+0000), which the store cannot keep" in err
    assert f"{bad}:44: the incident's id is 201 characters long; the store keeps ids of at most 200" in err
    assert "44 in the export: 40 incident(s) stored, 0 already stored, 4 refused" in err
    code, _, err = run_cli(["import", "--rulesets", str(ROOT / "rulesets"), "--store", store, "--policy", IL,
                            str(export)], cwd=tmp_path)
    assert code == 0 and "40 in the export: 0 incident(s) stored, 40 already stored, 0 refused" in err
    empty = tmp_path / "empty.jsonl"  # most likely the wrong file: said, as decide and audit say it
    empty.write_text("\n", encoding="utf-8")
    code, _, err = run_cli(["import", "--rulesets", str(ROOT / "rulesets"), "--store", store, "--policy", IL,
                            str(empty)], cwd=tmp_path)
    assert code == 1 and "no incident in" in err and "--allow-empty" in err
    code, _, err = run_cli(["import", "--rulesets", str(ROOT / "rulesets"), "--store", store, "--policy", IL,
                            "--allow-empty", str(empty)], cwd=tmp_path)
    assert code == 0 and "0 in the export" in err
    renamed = tmp_path / "export.txt"  # an extension that says nothing: the format is stated
    renamed.write_bytes(export.read_bytes())
    code, _, err = run_cli(["import", "--rulesets", str(ROOT / "rulesets"), "--store", store, "--policy", IL,
                            "--input-format", "jsonl", str(renamed)], cwd=tmp_path)
    assert code == 0 and "40 in the export: 0 incident(s) stored, 40 already stored, 0 refused" in err
    drafts = tmp_path / "drafts"
    (drafts / IL).mkdir(parents=True)
    (drafts / IL / "2026.1.0.yaml").write_text(_candidate(), encoding="utf-8")
    rulesets = ["--rulesets", str(ROOT / "rulesets"), "--rulesets", str(drafts)]
    code, replayed, err = run_cli(["replay", *rulesets, "--store", store, "--format", "json", f"{IL}@2026.1.0"],
                                  cwd=tmp_path)
    assert code == 0, err
    assert f"incidents/s, {default_workers()} worker(s))" in err  # not `0`, the option's "one per CPU"
    code, impact, err = run_cli(["impact", *rulesets, "--format", "json", f"{IL}@2021.3.0", f"{IL}@2026.1.0",
                                 str(export)], cwd=tmp_path)
    assert code == 0, err
    assert _unordered(json.loads(replayed)) == _unordered(json.loads(impact)) and json.loads(replayed)["changed"] > 0


# --- several workers, and replays kept in the store ------------------------------------------------------

def test_a_version_loaded_through_either_worker_is_served_by_both(tmp_path: Path, store_url: str) -> None:
    server = Server(tmp_path, store_url, ("--workers", "2")).start()
    try:
        first, a = worker_client(server)
        second, _ = worker_client(server, not_on={a})
        incident = json.loads((ROOT / "examples" / f"{IL}.json").read_text(encoding="utf-8"))
        loaded = {}
        for client, version in ((first, "2026.1.0"), (second, "2026.2.0")):
            r = client.put(f"/v1/rulesets/{IL}/versions/{version}", content=_candidate(version).encode(),
                           headers=YAML)
            assert r.status_code == 201, r.text
            loaded[version] = r.json()["digest"]
        # Each worker decides under both at once (the one loaded through the other found in the store).
        for client in (first, second):
            for version, digest in loaded.items():
                decided = client.post("/v1/decide", json={"policy": f"{IL}@{version}", "incident": incident})
                assert decided.status_code == 200, decided.text
                assert decided.json()["ruleset"]["digest"] == digest
            assert client.put(f"/v1/rulesets/{IL}/versions/2026.1.0", content=_candidate().encode(),
                              headers=YAML).json()["loaded"] is False  # held already, whoever loaded it
        # A version that clashes with one loaded through the other worker is refused by this one too.
        clash = first.put(f"/v1/rulesets/{IL}/versions/2026.2.0", content=_candidate("2026.2.0", "P150D").encode(),
                          headers=YAML)
        assert clash.status_code == 422 and clash.json()["problems"][0]["code"] == "BWC303"
        # Fresh connections (to either worker) list both versions, soon after they were loaded or at once.
        for _ in range(6):
            client, _ = worker_client(server)
            listed = [v["version"] for v in client.get(f"/v1/rulesets/{IL}").json()["versions"]]
            assert {"2026.1.0", "2026.2.0"} <= set(listed)
            client.close()
        first.close()
        second.close()
    finally:
        server.stop()


def _import(export: Path, store: str, folder: Path) -> None:
    code, _, err = run_cli(["import", "--rulesets", str(ROOT / "rulesets"), "--store", store, "--policy", IL,
                            str(export)], cwd=folder)
    assert code == 0, err


def test_a_replay_is_answered_by_any_worker_and_kept_over_a_restart(export: Path, tmp_path: Path,
                                                                     store_url: str) -> None:
    _import(export, store_url, tmp_path)
    server = Server(tmp_path, store_url, ("--workers", "2", "--replay-workers", "1")).start()
    try:
        first, a = worker_client(server)
        second, _ = worker_client(server, not_on={a})
        assert first.put(f"/v1/rulesets/{IL}/versions/2026.1.0", content=_candidate().encode(),
                         headers=YAML).status_code == 201
        # Asked through one worker, with the version that worker just loaded; followed through the other.
        started = second.post("/v1/replays", json={"candidate": f"{IL}@2026.1.0"})
        assert started.status_code == 202, started.text
        location = started.headers["location"]
        deadline = time.monotonic() + 120
        while (job := first.get(location).json())["state"] not in ("done", "failed"):
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
        assert job["state"] == "done", job["error"]
        assert job["report"]["incidents"] == 40 and job["report"]["changed"] > 0
        assert job["progress"] == {"incidents_in_period": 40, "scanned": 40, "decided": 40}
        assert second.get(location).json() == job
        assert [j["id"] for j in first.get("/v1/replays").json()] == [job["id"]]
        first.close()
        second.close()
        server.stop()
        server.start()  # the same store: the replay, its report and its progress are there again
        assert server.call("GET", location).json() == job
    finally:
        if server.proc is not None and server.proc.poll() is None:
            server.stop()


def _dead_pid() -> int:
    """The pid of a process of this machine that has ended."""
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


def test_a_replay_whose_server_died_is_reported_interrupted_and_a_queued_one_runs(
        export: Path, tmp_path: Path, store_url: str) -> None:
    """What a server killed in the middle of replays leaves in the store (rows written as its process
    wrote them: one replay running in it, one in a server on another machine that stopped reporting,
    one still queued), and what the next server makes of them."""
    _import(export, store_url, tmp_path)
    now = datetime.now(UTC)
    long_ago = (now - timedelta(minutes=5)).isoformat(timespec="microseconds")
    row = {"candidate": f"{IL}@2021.2.0", "baseline": f"{IL}@2021.1.0", "baseline_ref": f"{IL}@2021.1.0",
           "since": None, "until": None, "as_of": None, "total": 40, "scanned": 0, "decided": 0, "error": None,
           "report": None, "finished_at": None}
    rows = [
        {**row, "id": "here", "requested_at": "2026-01-01T00:00:01+00:00", "state": "running", "scanned": 12,
         "decided": 10, "started_at": long_ago, "runner": "gone", "host": this_machine(), "pid": _dead_pid(),
         "heartbeat_at": now.isoformat(timespec="microseconds")},
        {**row, "id": "elsewhere", "requested_at": "2026-01-01T00:00:02+00:00", "state": "running",
         "started_at": long_ago, "runner": "far", "host": "another-machine.invalid", "pid": 1,
         "heartbeat_at": long_ago},
        {**row, "id": "waiting", "requested_at": "2026-01-01T00:00:03+00:00", "state": "queued",
         "started_at": None, "runner": None, "host": None, "pid": None, "heartbeat_at": None},
    ]
    columns = list(rows[0])
    with _database(store_url).connect() as db:
        db.execute(sa.text(f"INSERT INTO replays ({', '.join(columns)}) VALUES "
                           f"({', '.join(':' + c for c in columns)})"), rows)
        db.commit()
    server = Server(tmp_path, store_url).start()
    try:
        here = server.call("GET", "/v1/replays/here").json()
        assert here["state"] == "failed" and here["error"].startswith("interrupted: the process running it stopped")
        assert "POST /v1/replays" in here["error"] and here["progress"]["decided"] == 10
        elsewhere = server.call("GET", "/v1/replays/elsewhere").json()
        assert elsewhere["state"] == "failed" and "another-machine.invalid" in elsewhere["error"]
        assert "has not reported" in elsewhere["error"]
        deadline = time.monotonic() + 120
        while (waiting := server.call("GET", "/v1/replays/waiting").json())["state"] != "done":
            assert waiting["state"] in ("queued", "running") and time.monotonic() < deadline, waiting
            time.sleep(0.2)
        assert waiting["report"]["a"] == f"{IL}@2021.1.0" and waiting["report"]["b"] == f"{IL}@2021.2.0"
        states = {j["id"]: j["state"] for j in server.call("GET", "/v1/replays").json()}
        assert states == {"here": "failed", "elsewhere": "failed", "waiting": "done"}
    finally:
        server.stop()


def test_a_replay_running_when_the_service_stops_is_reported_interrupted(export: Path, tmp_path: Path) -> None:
    """Stopped (SIGTERM) while a replay runs: the replay is failed as interrupted, at once, not left running."""
    big = tmp_path / "big.jsonl"
    code, _, err = run_cli(["generate", "--rulesets", str(ROOT / "rulesets"), "--policy", IL, "--incidents", "5000",
                            "--seed", "8", "--months", "4", str(big)])
    assert code == 0, err
    server = Server(tmp_path, args=("--replay-workers", "1"))
    _import(big, server.store, tmp_path)
    server.start()
    try:
        assert _load(server, _candidate()).status_code == 201
        location = server.call("POST", "/v1/replays", token=WRITE,
                               json={"candidate": f"{IL}@2026.1.0"}).headers["location"]
        deadline = time.monotonic() + 60
        while server.call("GET", location).json()["state"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        server.stop()
        server.start()
        job = server.call("GET", location).json()
        assert job["progress"]["decided"] < 5000, job  # stopped half way (5,000 take seconds with one process)
        assert job["state"] == "failed" and job["error"].startswith("interrupted: the service was stopped")
    finally:
        if server.proc is not None and server.proc.poll() is None:
            server.stop()
