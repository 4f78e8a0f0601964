"""OpenAPI-driven fuzzing of the decision service (schemathesis): `bwc serve` started as a real process
on a local port, its own document (`/v1/openapi.json`) loaded over HTTP, and every operation in it
called with generated requests (valid and invalid, with an admin token so that the calls get past
authentication; schemathesis also sends some without it). Each answer must be no server error (5xx),
and conform to the document: a documented status code, a documented content type, a body valid
against the documented schema, the documented headers.

Seeded like every property here (`--hypothesis-seed` in pyproject.toml, the `ci` and `fuzz`
profiles of conftest.py): `examples(N)` requests per operation in the suite, five times as many under
`--hypothesis-profile=fuzz`. The requests that found bugs are pinned below as plain tests, each checked
against the same document.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from budget import examples
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.generation.case import Case
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.schemas import OpenApiSchema
from test_service import ADMIN, CO, INCIDENT, READ, WRITE, Server

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.hypothesis  # run again, with five times the examples, by the `fuzz` job


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("fuzz")).start()
    # Something to find: an incident with events, so generated ids sometimes meet stored ones.
    s.call("PUT", "/v1/incidents/INC-1", token=WRITE,
           json={"policy": CO, "timezone": INCIDENT["timezone"], "facts": INCIDENT["facts"]})
    s.call("POST", "/v1/incidents/INC-1/events", token=WRITE,
           json={"events": [{"event_id": f"ev-{k}", "event": e} for k, e in enumerate(INCIDENT["events"])]})
    yield s
    if s.proc is not None and s.proc.poll() is None:
        s.stop()


# A request that fits the document may still name a ruleset, incident or decision the service does not
# hold (404), or hold an incident that does not fit the vocabulary of its ruleset (422: the document
# cannot say which events and facts each ruleset reads). Any other refusal of such a request fails.
# A request that does not fit the document may also be too large to read at all (413, documented on every
# route that takes a body): the service refuses it by its size before reading what is wrong in it. Found by
# the `fuzz` job with seed 7: 1,001 events (`maxItems` is 1,000) in more than 1 MiB; pinned below.
CONFIG = SchemathesisConfig.from_dict({"checks": {
    "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "409", "422"]},
    "negative_data_rejection": {"expected-statuses": ["400", "401", "403", "404", "405", "406", "409", "413",
                                                      "415", "422", "428", "429", "5xx"]}}})


@pytest.fixture(scope="module")
def api(server: Server) -> OpenApiSchema:
    loaded = schemathesis.openapi.from_url(server.url + "/v1/openapi.json", config=CONFIG)
    assert isinstance(loaded, OpenApiSchema)
    return loaded


def _operations(api: OpenApiSchema) -> list[APIOperation[Any, Any, Any, Any]]:
    found = []
    for result in api.get_all_operations():
        assert isinstance(result, Ok), result.err()  # an operation the document defines badly
        found.append(result.ok())
    assert len(found) >= 16, [op.label for op in found]
    return found


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_as_documented(api: OpenApiSchema, mode: GenerationMode) -> None:
    """`examples(25)` generated requests per operation, requests that fit the document (positive) and
    requests that do not (negative); every answer is checked by all of schemathesis's response checks."""
    failures: list[str] = []
    for operation in _operations(api):
        # The token is fixed, not generated: every request gets past authentication (its refusals are
        # pinned below), so a request made invalid is invalid in what the operation reads.
        @settings(max_examples=examples(25), suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(mode, headers={"Authorization": f"Bearer {ADMIN}"}))
        def answers_as_documented(case: Case[Any]) -> None:
            case.call_and_validate(timeout=60)

        try:
            answers_as_documented()
        except Unsatisfiable:  # nothing of it can be made invalid (no parameter, no body)
            assert mode is GenerationMode.NEGATIVE, operation.label
        except (Exception, FailureGroup) as exc:  # every operation is tried; the failures are reported together
            failures.append(f"{operation.label} ({mode}): {exc}")
    assert not failures, "\n\n".join(failures)


def test_the_document_covers_every_route(server: Server) -> None:
    """Every operation has its errors documented as problem documents, and none is FastAPI's
    HTTPValidationError (which the service never sends)."""
    doc = httpx.get(server.url + "/v1/openapi.json", timeout=30).json()
    assert "HTTPValidationError" not in json.dumps(doc)
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            for code, answer in op["responses"].items():
                if code[0] in "45":
                    assert list(answer["content"]) == ["application/problem+json"], (method, path, code)
            if op.get("security"):
                assert {"401", "403"} <= set(op["responses"]), (method, path)
            if "requestBody" in op:
                assert {"400", "413", "422"} <= set(op["responses"]), (method, path)


# --- requests that were answered outside the document, pinned ---------------------------------------

def _conforms(api: OpenApiSchema, method: str, path: str, response: httpx.Response) -> None:
    """The answer is no server error and is what the document says `method path` answers."""
    assert response.status_code < 500, response.text
    operation = api[path][method.upper()]
    operation.validate_response(response)


@pytest.mark.parametrize(("method", "path", "template", "token", "body", "status"), [
    # 401 and 403 were not documented on any route
    ("GET", "/v1/rulesets", "/v1/rulesets", None, None, 401),
    ("PUT", "/v1/incidents/x", "/v1/incidents/{incident_id}", READ,
     {"policy": CO, "timezone": "UTC", "facts": {}}, 403),
    # 404 was not documented (an unknown ruleset, incident, decision)
    ("POST", "/v1/decide", "/v1/decide", ADMIN, {"incident": {}, "policy": "0"}, 404),
    ("GET", "/v1/rulesets/0/versions/2016.1.0", "/v1/rulesets/{ruleset_id}/versions/{version}", ADMIN, None, 404),
    ("GET", "/v1/rulesets/0/diff?from=&to=", "/v1/rulesets/{ruleset_id}/diff", ADMIN, None, 404),
    ("POST", "/v1/incidents/0/events", "/v1/incidents/{incident_id}/events", ADMIN,
     {"events": [{"event": {}, "event_id": "0"}]}, 404),
    ("GET", "/v1/decisions/0", "/v1/decisions/{decision_id}", ADMIN, None, 404),
    # 422 was documented as FastAPI's HTTPValidationError in application/json; it is a problem document
    ("POST", "/v1/decide", "/v1/decide", ADMIN, {}, 422),
    ("GET", "/v1/rulesets/0/diff?from=", "/v1/rulesets/{ruleset_id}/diff", ADMIN, None, 422),
    ("PUT", "/v1/incidents/0", "/v1/incidents/{incident_id}", ADMIN, {"policy": CO, "timezone": ""}, 422),
    # 409 was not documented
    ("PUT", "/v1/incidents/INC-1", "/v1/incidents/{incident_id}", ADMIN,
     {"policy": CO, "timezone": "UTC", "facts": {}}, 409),
])
def test_pinned_requests_are_answered_as_documented(server: Server, api: OpenApiSchema, method: str, path: str,
                                                    template: str, token: str | None, body: Any,
                                                    status: int) -> None:
    r = server.call(method, path, token=token, json=body) if body is not None else server.call(method, path, token)
    assert r.status_code == status, r.text
    _conforms(api, method, template, r)


def test_a_body_too_large_and_invalid_is_a_documented_413(server: Server, api: OpenApiSchema) -> None:
    # More events than a request may carry, in more than `--max-body` bytes: refused by its size, first.
    event = {"event_id": "e", "event": {"type": "dispatched", "at": "2024-01-01T00:00:00Z", "note": "x" * 1100}}
    body = {"events": [event] * 1001}
    assert len(json.dumps(body)) > 1 << 20
    r = server.call("POST", "/v1/incidents/INC-1/events", token=ADMIN, json=body)
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json", r.text
    _conforms(api, "POST", "/v1/incidents/{incident_id}/events", r)


def test_a_body_that_is_not_json_is_a_documented_400(server: Server, api: OpenApiSchema) -> None:
    r = httpx.post(server.url + "/v1/decide/batch", content=b"\x00", timeout=30,
                   headers={"Authorization": f"Bearer {ADMIN}", "content-type": "application/json"})
    assert r.status_code == 400
    _conforms(api, "POST", "/v1/decide/batch", r)


def test_success_bodies_match_their_schemas(server: Server, api: OpenApiSchema) -> None:
    """The answers with a body the fuzzer rarely reaches (a valid incident), checked against the document."""
    decided = server.call("POST", "/v1/decide", json={"policy": CO, "incident": INCIDENT})
    _conforms(api, "POST", "/v1/decide", decided)
    batch = server.call("POST", "/v1/decide/batch", json={"policy": CO, "incidents": [INCIDENT, {"id": "bad"}]})
    assert batch.status_code == 200 and batch.json()["decisions"][1] is None
    _conforms(api, "POST", "/v1/decide/batch", batch)
    _conforms(api, "POST", "/v1/explain", server.call("POST", "/v1/explain", json={"policy": CO, "incident": INCIDENT}))
    _conforms(api, "GET", "/v1/decisions/{decision_id}",
              server.call("GET", f"/v1/decisions/{decided.json()['decision_id']}"))
    _conforms(api, "GET", "/v1/incidents/{incident_id}/decision", server.call("GET", "/v1/incidents/INC-1/decision"))
    opened = server.call("PUT", "/v1/incidents/INC-2", token=WRITE,
                         json={"policy": CO, "timezone": "UTC", "facts": {}})
    assert opened.status_code == 201
    _conforms(api, "PUT", "/v1/incidents/{incident_id}", opened)
    appended = server.call("POST", "/v1/incidents/INC-2/events", token=WRITE,
                           json={"events": [{"event_id": "a", "event": INCIDENT["events"][0]}]})
    assert appended.status_code == 200, appended.text
    _conforms(api, "POST", "/v1/incidents/{incident_id}/events", appended)
    _conforms(api, "GET", "/v1/decisions-log/verify", server.call("GET", "/v1/decisions-log/verify", token=ADMIN))
    _conforms(api, "GET", "/readyz", server.call("GET", "/readyz", token=None))
    _conforms(api, "GET", "/metrics", server.call("GET", "/metrics"))
    versions = server.call("GET", f"/v1/rulesets/{CO}")
    _conforms(api, "GET", "/v1/rulesets/{ruleset_id}", versions)
    first = versions.json()["versions"][0]["version"]
    _conforms(api, "GET", "/v1/rulesets/{ruleset_id}/versions/{version}",
              server.call("GET", f"/v1/rulesets/{CO}/versions/{first}"))


def test_a_method_a_path_does_not_take_is_405_with_every_method_it_does(server: Server) -> None:
    """`Allow` lists every method of the path (it listed only those of the first route that matched:
    `OPTIONS /v1/replays` answered `Allow: POST`, though GET /v1/replays exists)."""
    doc = httpx.get(server.url + "/v1/openapi.json", timeout=30).json()
    for path, operations in doc["paths"].items():
        for method in ("PATCH", "OPTIONS"):
            r = server.call(method, re.sub(r"\{[^}]+\}", "x", path), token=ADMIN)
            assert r.status_code == 405 and r.headers["content-type"] == "application/problem+json", (method, path)
            assert set(r.headers["allow"].split(", ")) == {m.upper() for m in operations}, (method, path)
