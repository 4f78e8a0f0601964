"""How the decision service reads requests and what it answers when it cannot do what was asked: the
app driven in this process (FastAPI's TestClient, or as a bare ASGI app), on a SQLite store in a
temporary folder; a few through a real uvicorn server, where the server itself is what is tested (a
slow body, HEAD, tokens at start-up). Each test reproduces a problem found by testing the service."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from served import served
from test_service import ADMIN, CO, INCIDENT, READ, ROOT, WRITE

from engine.cli.options import load_library
from engine.service.app import create_app
from engine.service.store import Store, StoreError
from engine.service.tokens import Token, TokenError, Tokens

TOKENS = Tokens([Token("r", "read", READ), Token("w", "write", WRITE), Token("a", "admin", ADMIN)])
RULESETS = ROOT / "rulesets"  # absolute, as a server is often started: its paths must not show


def auth(token: str = ADMIN, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


@pytest.fixture(scope="module")
def library() -> Any:
    return load_library((RULESETS,))


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'bwc.db'}") as s:
        yield s


@pytest.fixture()
def app(library: Any, store: Store) -> FastAPI:
    return create_app(library, store, TOKENS, replay_workers=1)


@pytest.fixture()
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:  # a bug raised out of the app fails the test
        yield c


def _open(client: TestClient, path_id: str) -> Any:
    return client.put(f"/v1/incidents/{path_id}", headers=auth(WRITE),
                      json={"policy": CO, "timezone": "America/Denver", "facts": {}})


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


# --- 1. an append is decided before it is committed -----------------------------------------------

def test_an_append_that_deciding_refuses_stores_nothing(client: TestClient, store: Store) -> None:
    assert _open(client, "CAL-3").status_code == 201
    complaint = {"type": "complaint_filed", "at": "2024-01-19T10:00:00-07:00", "misconduct": True, "by": "subject"}
    far = {"type": "records_request", "at": "9999-12-31T00:00:00+00:00", "requester": "media"}
    refused = client.post("/v1/incidents/CAL-3/events", headers=auth(WRITE),
                          json={"events": [{"event_id": "c", "event": complaint}, {"event_id": "r", "event": far}]})
    body = _problem(refused, 422)
    assert "outside years 1 to 9999" in json.dumps(body)
    stored = store.incident("CAL-3")
    assert stored is not None and stored.events == []  # nothing of the refused request
    # the incident is not stuck: the good event alone is taken, and its decision answered
    taken = client.post("/v1/incidents/CAL-3/events", headers=auth(WRITE),
                        json={"events": [{"event_id": "c", "event": complaint}]})
    assert taken.status_code == 200, taken.text
    assert client.get("/v1/incidents/CAL-3/decision", headers=auth(READ)).status_code == 200


# --- 2. incident ids in the path ------------------------------------------------------------------

@pytest.mark.parametrize(("path_id", "incident_id"), [("IMP%2Fslash%2F1", "IMP/slash/1"),
                                                      ("x%2Fdecision", "x/decision"), ("caf%C3%A9", "café")])
def test_an_incident_id_is_one_path_segment_percent_decoded(client: TestClient, path_id: str,
                                                             incident_id: str) -> None:
    opened = _open(client, path_id)
    assert opened.status_code == 201, opened.text
    assert opened.json() == {"incident_id": incident_id, "created": True}
    events = [{"event_id": f"e{k}", "event": e} for k, e in enumerate(INCIDENT["events"])]
    appended = client.post(f"/v1/incidents/{path_id}/events", headers=auth(WRITE), json={"events": events})
    assert appended.status_code == 200, appended.text
    decision = client.get(f"/v1/incidents/{path_id}/decision", headers=auth(READ))
    assert decision.status_code == 200, decision.text
    assert decision.json()["incident_id"] == incident_id


def test_an_id_with_a_slash_not_encoded_is_no_incident(client: TestClient) -> None:
    assert _open(client, "IMP%2Fslash%2F1").status_code == 201
    _problem(client.get("/v1/incidents/IMP/slash/1/decision", headers=auth(READ)), 404)


def test_a_path_that_is_not_utf8_is_refused_and_stores_nothing(client: TestClient, store: Store) -> None:
    for path_id in ("%FF", "%FE", "ok%C3"):
        body = _problem(_open(client, path_id), 400)
        assert "not UTF-8" in body["detail"]
    assert store.incident("\ufffd") is None
    _problem(client.get("/v1/rulesets/%FF", headers=auth(READ)), 400)


# --- 3. the token before the body -------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/v1/decide", "/v1/decide/batch", "/v1/explain", "/v1/replays",
                                  "/v1/incidents/X/events"])
def test_the_token_is_checked_before_the_body_is_read(client: TestClient, path: str) -> None:
    garbage = {"Content-Type": "application/json"}
    assert "bearer token" in _problem(client.post(path, content=b"garbage", headers=garbage), 401)["detail"]
    bad = client.post(path, content=b"garbage", headers={**garbage, "Authorization": "Bearer not-a-token-at-all"})
    assert _problem(bad, 401)["detail"] == "the token is not valid"
    if path.startswith(("/v1/replays", "/v1/incidents")):  # a read token on a write route
        _problem(client.post(path, content=b"garbage", headers=auth(READ, **garbage)), 403)
    assert "not valid JSON" in _problem(client.post(path, content=b"garbage", headers=auth(**garbage)), 400)["detail"]


# --- 4. a store failing midway: the answer says what was recorded -------------------------------------

def _failing_after(store: Store, monkeypatch: pytest.MonkeyPatch, commits: int) -> None:
    """The store's log commits work `commits` times, then fail as an unreachable store does."""
    real = store.record_many
    done = 0

    def record_many(many: list[Any]) -> Any:
        nonlocal done
        done += 1
        if done > commits:
            raise StoreError("the store went away (a test)")
        return real(many)
    monkeypatch.setattr(store, "record_many", record_many)


def test_a_batch_recorded_in_part_says_which_decisions_were(client: TestClient, store: Store,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _failing_after(store, monkeypatch, 1)  # the log commits at most 256 entries at a time: 300 take two
    incidents = [{**INCIDENT, "id": f"B-{k}"} for k in range(300)]
    body = _problem(client.post("/v1/decide/batch", headers=auth(READ), json={"policy": CO, "incidents": incidents}),
                    503)
    logged = {e.incident_id for e in store.entries(None, None)}
    assert 0 < len(logged) < 300
    assert sorted(body["recorded"]) == sorted(int(i.removeprefix("B-")) for i in logged)
    assert f"{len(logged)} of the 300 decisions were recorded" in body["detail"]


def test_an_append_whose_decision_is_not_logged_says_the_events_were_stored(
        client: TestClient, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _open(client, "LOG-1").status_code == 201
    _failing_after(store, monkeypatch, 0)
    events = [{"event_id": f"e{k}", "event": e} for k, e in enumerate(INCIDENT["events"])]
    body = _problem(client.post("/v1/incidents/LOG-1/events", headers=auth(WRITE), json={"events": events}), 503)
    assert body["appended"] == len(events)
    assert "the events were stored" in body["detail"] and "nothing was recorded" not in body["detail"]
    stored = store.incident("LOG-1")
    assert stored is not None and len(stored.events) == len(events)
    monkeypatch.undo()  # the store is back: a retry of the same events is skipped, and decided
    again = client.post("/v1/incidents/LOG-1/events", headers=auth(WRITE), json={"events": events})
    assert again.status_code == 200 and again.json()["appended"] == 0


# --- 5. smaller ---------------------------------------------------------------------------------------

def test_a_trailing_slash_is_not_redirected(client: TestClient) -> None:
    answer = client.post("/v1/decide/", headers=auth(READ, Host="evil.example"), json={}, follow_redirects=False)
    body = _problem(answer, 404)
    assert "location" not in answer.headers and "/v1/decide/" in body["detail"]


def test_head_is_answered_as_get_without_a_body(client: TestClient) -> None:
    for path, token in (("/healthz", None), ("/readyz", None), ("/v1/rulesets", READ)):
        headers = auth(token) if token else {}
        head, get = client.head(path, headers=headers), client.get(path, headers=headers)
        assert head.status_code == get.status_code == 200, (path, head.text)
        assert head.content == b"" and head.headers["content-type"] == get.headers["content-type"]
    refused = client.head("/v1/rulesets")  # the token is still needed
    assert refused.status_code == 401 and refused.content == b""
    assert client.head("/v1/decide", headers=auth(READ)).status_code == 405


def test_a_body_must_be_json_and_not_compressed(client: TestClient) -> None:
    form = client.post("/v1/decide", headers=auth(READ, **{"Content-Type": "application/x-www-form-urlencoded"}),
                       content=b"policy=x")
    assert "the body must be JSON, sent with Content-Type: application/json" in _problem(form, 422)["detail"]
    zipped = client.post("/v1/decide", headers=auth(READ, **{"Content-Type": "application/json",
                                                             "Content-Encoding": "gzip"}),
                         content=gzip.compress(json.dumps({"policy": CO, "incident": INCIDENT}).encode()))
    assert "Content-Encoding `gzip`" in _problem(zipped, 415)["detail"]
    yaml = client.put(f"/v1/rulesets/{CO}/versions/9.9.9", headers=auth(ADMIN, **{
        "Content-Type": "application/yaml", "Content-Encoding": "br"}), content=b"\x00\x01")
    assert "Content-Encoding `br`" in _problem(yaml, 415)["detail"]


def test_a_bad_as_of_names_the_parameter(client: TestClient) -> None:
    replay = client.post("/v1/replays", headers=auth(WRITE), json={"candidate": f"{CO}@2021.2.0", "as_of": "x"})
    detail = _problem(replay, 422)["detail"]
    assert detail.startswith("`as_of` (in the body): `x` is not a time") and "--as-of" not in detail
    assert _open(client, "Q-1").status_code == 201
    query = client.get("/v1/incidents/Q-1/decision?as_of=x", headers=auth(READ))
    assert _problem(query, 422)["detail"].startswith("`as_of` (in the query): `x` is not a time")
    decide = client.post("/v1/decide", headers=auth(READ), json={"policy": CO, "incident": INCIDENT, "as_of": "x"})
    assert _problem(decide, 422)["detail"].startswith("`as_of` (in the body)")


async def _call(app: FastAPI, method: str, path: str, headers: dict[str, str],
                messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One request to the bare ASGI app: `messages` are what the client sends (then it waits for ever)."""
    sent: list[dict[str, Any]] = []
    pending = list(messages)

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    raw = path.encode()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": raw, "query_string": b"", "root_path": "", "server": ("test", 80),
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
    await app(scope, receive, send)
    return sent


def test_a_client_gone_is_counted_alike_on_every_route(client: TestClient, app: FastAPI) -> None:
    headers = auth(READ, **{"Content-Type": "application/json"})
    gone = [{"type": "http.request", "body": b'{"policy"', "more_body": True}, {"type": "http.disconnect"}]
    for path in ("/v1/decide", "/v1/explain"):
        asyncio.run(_call(app, "POST", path, headers, gone))
    counted = client.get("/metrics", headers=auth(READ)).text
    for path in ("/v1/decide", "/v1/explain"):
        assert f'bwc_requests_total{{method="POST",route="{path}",status="400"}} 1.0' in counted, counted
    assert 'route="(unmatched)"' not in counted


def test_a_changed_version_is_refused_without_the_servers_paths(client: TestClient) -> None:
    text = (RULESETS / CO / "2021.2.0.yaml").read_text(encoding="utf-8")
    changed = text.replace("title:", "title: Changed", 1)
    assert changed != text
    answer = client.put(f"/v1/rulesets/{CO}/versions/2021.2.0", headers=auth(ADMIN, **{
        "Content-Type": "application/yaml"}), content=changed.encode())
    body = _problem(answer, 422)
    assert body["problems"][0]["code"] == "BWC303"
    assert str(ROOT) not in answer.text and ".yaml" not in answer.text
    assert f"`{CO}@2021.2.0` is already loaded" in body["problems"][0]["message"]


def test_a_token_given_twice_is_refused(tmp_path: Path) -> None:
    twice = f"admin:{ADMIN},read:{ADMIN}"
    with pytest.raises(TokenError) as refused:
        Tokens.from_env({"BWC_TOKENS": twice})
    assert str(refused.value).startswith("BWC_TOKENS entry 2: the same token as BWC_TOKENS entry 1")
    assert ADMIN not in str(refused.value)
    file = tmp_path / "tokens.yaml"
    file.write_text(f"tokens: [{{name: a, role: admin, token: {ADMIN}}}, {{name: b, role: read, token: {ADMIN}}}]\n")
    with pytest.raises(TokenError, match=r"tokens\[1\]: the same token as .*tokens\[0\]"):
        Tokens.from_file(file)
    # and `bwc serve` says so and stops, never serving with one of the two roles
    done = subprocess.run([sys.executable, "-m", "engine.cli", "serve", "--rulesets", str(RULESETS), "--store",
                           f"sqlite:///{tmp_path / 'bwc.db'}", "--port", "0"], cwd=tmp_path, capture_output=True,
                          env={**os.environ, "BWC_TOKENS": twice}, timeout=120, text=True)
    assert done.returncode != 0 and "the same token as BWC_TOKENS entry 1" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and ADMIN not in done.stderr


def test_a_bug_is_a_500_with_its_traceback_in_a_file_not_on_stderr(
        client: TestClient, app: FastAPI, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any) -> Any:
        raise RuntimeError("a bug (a test)")
    monkeypatch.setattr(app.state.service, "fresh", broken)
    # the client raises what escapes the app (as uvicorn prints it): nothing may
    body = _problem(client.post("/v1/explain", headers=auth(READ), json={"policy": CO, "incident": INCIDENT}), 500)
    assert "a bug" not in body["detail"]
    err = capsys.readouterr().err
    assert "internal error on POST /v1/explain: RuntimeError (traceback in " in err
    assert "Traceback (most recent call last)" not in err
    saved = Path(err.split("traceback in ")[1].split(")")[0])
    assert "a bug (a test)" in saved.read_text(encoding="utf-8")
    saved.unlink()


# --- 6. a slow body -----------------------------------------------------------------------------------

def test_a_body_that_does_not_arrive_is_answered_408(library: Any, store: Store) -> None:
    app = create_app(library, store, TOKENS, body_timeout=0.3)
    for path in ("/v1/decide", "/v1/explain"):  # the fast path's reading and the app's
        start = time.monotonic()
        sent = asyncio.run(_call(app, "POST", path, auth(READ, **{"Content-Type": "application/json"}),
                                 [{"type": "http.request", "body": b'{"policy"', "more_body": True}]))
        assert time.monotonic() - start < 5
        assert sent[0]["status"] == 408
        assert (b"connection", b"close") in sent[0]["headers"]
        assert b"did not arrive within 0.3 seconds" in sent[1]["body"]


def test_a_slow_client_is_disconnected_by_a_real_server(library: Any, store: Store,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    with served(create_app(library, store, TOKENS, body_timeout=0.5)) as port:
        head = httpx.head(f"http://127.0.0.1:{port}/healthz", timeout=10)
        assert head.status_code == 200 and head.content == b""
        start = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(f"POST /v1/decide HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {READ}\r\nContent-Type: "
                         "application/json\r\nContent-Length: 1000\r\n\r\n0123456789".encode())
            received = b""
            while chunk := conn.recv(65536):  # until the server closes the connection (a timeout fails)
                received += chunk
        assert received.startswith(b"HTTP/1.1 408 "), received
        assert time.monotonic() - start < 8
        assert capsys.readouterr().err == ""  # no error of the server's, nor of the app's


# --- a store changed behind bwc's back, as the service answers it -------------------------------------------

def _behind_the_back(store: Store, statement: str, trigger: str) -> None:
    from test_service import _around_trigger, _database

    with _database(store.url).connect() as db:
        _around_trigger(db, trigger)
        db.exec_driver_sql(statement)
        db.commit()


def test_a_damaged_row_is_said_as_such_not_as_a_store_out_of_reach(client: TestClient, store: Store) -> None:
    """A damaged incident was answered 503 "the store cannot be reached", which a retry never mends; a
    decision edited into text that is not JSON cut the log's export at that line; and the verify call
    did not say where a saved head is in a log that has grown."""
    for k in range(3):
        assert client.post("/v1/decide", headers=auth(READ), json={"policy": CO, "incident": {
            **INCIDENT, "id": f"D-{k}"}}).status_code == 200
    head = client.get("/v1/decisions-log/verify", headers=auth(ADMIN)).json()["head"]
    assert client.post("/v1/decide", headers=auth(READ), json={"policy": CO, "incident": INCIDENT}).status_code == 200
    checked = client.get("/v1/decisions-log/verify", params={"head": head}, headers=auth(ADMIN)).json()
    assert checked["ok"] and checked["head_at"] == 3 and checked["added_since_head"] == 1, checked

    _behind_the_back(store, "UPDATE decisions SET decision = 'not json' WHERE seq = 2", "decisions_append_only_u")
    lines = client.get("/v1/decisions", headers=auth(READ)).text.splitlines()
    entries = [json.loads(line) for line in lines]  # every line stays JSON
    assert [e["seq"] for e in entries] == [1, 2, 3, 4]
    assert entries[1]["decision"] == "not json" and "its decision is not JSON" in entries[1]["problem"]
    assert "problem" not in entries[0] and isinstance(entries[2]["decision"], dict)

    assert _open(client, "CAL-9").status_code in (200, 201)
    events = [{"event_id": "e1", "event": INCIDENT["events"][0]}]
    assert client.post("/v1/incidents/CAL-9/events", headers=auth(WRITE), json={"events": events}).status_code == 200
    _behind_the_back(store, "UPDATE events SET event = 'not json' WHERE incident_id = 'CAL-9'", "events_append_only_u")
    body = _problem(client.get("/v1/incidents/CAL-9/decision", headers=auth(READ)), 500)
    assert "CAL-9" in body["detail"] and "not JSON" in body["detail"] and "cannot be reached" not in body["detail"]
