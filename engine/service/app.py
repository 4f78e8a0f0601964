"""The decision service: the engine's public API over HTTP (FastAPI), with the store behind it.

Paths are versioned (`/v1/...`); docs/service.md describes each with curl examples and
`/v1/openapi.json` is the OpenAPI document, made from the same models as the JSON Schemas. Every
endpoint but `/healthz` and `/readyz` (and the OpenAPI document, which holds no data) needs a bearer
token whose role allows it. Request bodies are read with the engine's strict JSON decoder and limited
in size; every error is a problem document (RFC 9457, `application/problem+json`), never a traceback.
Every decision returned is recorded in the store's hash-chained log before the answer is sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping
from concurrent.futures import Future
from contextlib import asynccontextmanager, suppress
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import unquote, unquote_to_bytes

import orjson
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.api import (
    CalendarOverflow,
    Decision,
    Incident,
    IncidentError,
    Library,
    Problem,
    RulesetLookupError,
    SelectionError,
)
from engine.core.decision.model import DecisionDocument
from engine.io.incident import IncidentReader
from engine.io.jsondoc import JsonError, decode_json
from engine.io.output import save_traceback
from engine.service import models
from engine.service.decision_log import DecisionLog
from engine.service.loaded import BODY, WrongVersion, adding, compiled, load
from engine.service.metrics import Metrics
from engine.service.models import (
    MAX_BATCH,
    MAX_BODY,
    AppendRequest,
    BatchRequest,
    DecideRequest,
    IncidentRequest,
    LoadedVersion,
    ReplayRequest,
    RulesetSummary,
    RulesetVersions,
    VersionDocument,
)
from engine.service.replay import KEPT as REPLAYS_KEPT
from engine.service.replay import ReplayError, Replays, job_dict
from engine.service.store import (
    Conflict,
    DamagedRow,
    LogEntry,
    Store,
    StoredIncident,
    StoreError,
    id_problem,
    period,
    recorded_text,
)
from engine.service.tokens import Role, Token, Tokens, allows
from policy import diff as ruleset_diff
from policy.canonical import canonical_data, dumps_canonical
from policy.diagnostics import Diagnostic, RulesetError, sort_key
from policy.values import parse_timestamp, quoted

R = TypeVar("R")
PROBLEM = "application/problem+json"
SYNC = 1.0
"""Seconds between two looks, by each process, for ruleset versions another process loaded."""
_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
_BEARER = HTTPBearer(auto_error=False, description="A token from the tokens file or BWC_TOKENS.")


def now_text() -> str:
    """The host clock, read here only: when the service received or recorded something (in the form
    store.recorded_text gives, which the decision log's periods are compared in)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


# --- errors as problem documents --------------------------------------------------------------------

def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _problems(exc: IncidentError) -> list[dict[str, Any]]:
    return [{"incident": p.incident, "field": p.field, "message": p.message, **({"hint": p.hint} if p.hint else {})}
            for p in exc.problems[:100]]


_TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
           408: "Request timeout", 409: "Conflict", 413: "Request body too large", 415: "Unsupported media type",
           422: "Unprocessable content", 500: "Internal error", 503: "Service unavailable"}
BODY_TIMEOUT = 30.0
"""Seconds a client has, from the start of a request, to send its whole body: a client that declares a
body and then sends it slowly, or not at all, is answered 408 and its connection closed, rather than
holding a connection (and the memory of what it sent) for ever. The request line and headers have a
deadline of their own (engine.service.protocol); see docs/service.md, "Limits"."""


def _install_errors(app: FastAPI, metrics: Metrics) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":  # the router's own words: no route has this path
            detail = (f"there is no `{quoted(request.url.path)}` (the paths are listed in /v1/openapi.json; "
                      "none ends with `/`)")
        response = problem(exc.status_code, _TITLES.get(exc.status_code, "Error"), detail)
        for k, v in (exc.headers or {}).items():
            response.headers[k] = v
        if exc.status_code == 405:  # every method of the path, not only those of the route that matched first
            methods = {m for r in app.router.routes if isinstance(r, APIRoute)
                       and r.matches(request.scope)[0] is not Match.NONE for m in r.methods or ()}
            response.headers["Allow"] = ", ".join(sorted(methods))
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        # Where and why only: the values sent are not echoed back.
        errors = [{"where": ".".join(str(p) for p in e.get("loc", ())), "message": str(e.get("msg", ""))}
                  for e in exc.errors()[:100]]
        return problem(422, _TITLES[422], "the request does not have the expected fields", errors=errors)

    @app.exception_handler(IncidentError)
    async def bad_incident(request: Request, exc: IncidentError) -> Response:
        return problem(422, _TITLES[422], "the incident does not fit the vocabulary of the version that judges it",
                       problems=_problems(exc))

    @app.exception_handler(CalendarOverflow)
    async def overflow(request: Request, exc: CalendarOverflow) -> Response:
        return problem(422, _TITLES[422], f"its dates run past the calendar (years 1 to 9999): {exc}")

    @app.exception_handler(SelectionError)
    @app.exception_handler(RulesetLookupError)
    async def unknown_ruleset(request: Request, exc: Exception) -> Response:
        return problem(404, _TITLES[404], str(exc))

    @app.exception_handler(RulesetError)
    async def bad_ruleset(request: Request, exc: RulesetError) -> Response:
        found = sorted(_without_paths(exc.diagnostics, request.app.state.service.library), key=sort_key)
        return problem(422, _TITLES[422], f"the ruleset has {len(found)} problem(s), as `bwc check` reports them",
                       problems=[d.to_dict() for d in found[:100]])

    @app.exception_handler(WrongVersion)
    @app.exception_handler(ReplayError)
    async def unprocessable(request: Request, exc: Exception) -> Response:
        return problem(422, _TITLES[422], str(exc))

    @app.exception_handler(Conflict)
    async def conflict(request: Request, exc: Conflict) -> Response:
        return problem(409, _TITLES[409], str(exc))

    @app.exception_handler(DamagedRow)
    async def damaged(request: Request, exc: DamagedRow) -> Response:
        # Not a store out of reach (503, try again later): a row changed behind bwc's back, which no
        # retry mends. Said to the caller and to the operator, whose store it is.
        print(f"bwc serve: {exc}", file=sys.stderr)
        return problem(500, _TITLES[500], f"{exc}; nothing was recorded (the operator must restore the row "
                                          "from a backup)")

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> Response:
        metrics.store_errors.inc()
        return problem(503, _TITLES[503], "the store cannot be reached; nothing was recorded")



def _without_paths(found: list[Diagnostic], library: Library) -> list[Diagnostic]:
    """The problems of a ruleset sent to be loaded, without the paths of the server's files: a problem
    found against a version read from a folder names that version (`id@version`), not its file."""
    files = {str(e.file): e.ref for rid in library.repository.ids() for e in library.repository.entries(rid)}
    files.pop(BODY, None)  # what versions loaded through the service are read as: no path, and the text sent
    out = []
    for d in found:
        message, hint, file = d.message, d.hint, d.file
        for path, ref in files.items():
            message = message.replace(f" (from {path})", "").replace(path, f"`{ref}`")
            hint = hint.replace(path, f"`{ref}`") if hint is not None else None
            if file == path:
                file = ref
        out.append(replace(d, message=message, hint=hint, file=file))
    return out


class _Internal:
    """A bug (an exception no handler answers) becomes a 500 problem document saying only that; its
    traceback goes to a file, named in one line on standard error (as docs/service.md says). Here, in
    an ASGI middleware of its own, rather than as an `Exception` handler: Starlette answers with such a
    handler and then raises the exception again, and uvicorn printed the whole traceback besides."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            where = f"{scope['method']} {quoted(scope['path'])}"
            if type(exc).__module__.startswith("sqlite3"):
                self.metrics.store_errors.inc()
                print(f"bwc serve: the store failed on {where}: {exc}", file=sys.stderr)
                if not started:
                    await _send_problem(send, 503, "the store failed; nothing was recorded")
                return
            saved = save_traceback(exc, where)
            print(f"bwc serve: internal error on {where}: {type(exc).__name__}"
                  + (f" (traceback in {saved})" if saved else ""), file=sys.stderr)
            if not started:  # once an answer has begun, only closing the connection can say it failed
                await _send_problem(send, 500, "the service failed on this request; the operator's log has "
                                    "the details")


# --- the request body: strict JSON, limited in size --------------------------------------------------

class _StrictRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            try:
                self._json = decode_json(await self.body())
            except JsonError as exc:
                raise HTTPException(400, f"the request body is not valid JSON: {exc}") from None
        return self._json


class _StrictRoute(APIRoute):
    """Routes that check the caller's token before anything else of the request (FastAPI reads and
    parses a body before it runs dependencies: a client without a token would have the server parse
    what it sent, and learn from a 400 what it thought of it); whose JSON bodies must say they are
    JSON, are not compressed, and are read by the engine's strict decoder (duplicate keys, NaN, lone
    surrogates, absurd nesting refused), not Python's permissive one; and whose query refuses a
    parameter the route does not take, or one given twice (422), as bodies refuse unknown fields."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        known = _query_names(self.dependant)
        callers = [d.call for d in self.dependant.dependencies if isinstance(d.call, _Caller)]
        json_body = self.body_field is not None

        async def strict(request: Request) -> Response:
            if callers:
                credentials = await _BEARER(request)
                for caller in callers:
                    await caller(credentials)
            encoding = request.headers.get("content-encoding", "").strip().lower()
            if encoding not in ("", "identity"):
                raise HTTPException(415, f"the body is sent with Content-Encoding `{quoted(encoding)}`, which the "
                                         "service does not read: send it uncompressed, without Content-Encoding")
            kind = request.headers.get("content-type")
            if json_body and kind is not None and not _is_json(kind):
                # 422, as before this check (tests/test_service.py pins it); the words say what to send
                raise HTTPException(422, "the body must be JSON, sent with Content-Type: application/json (not "
                                         f"`{quoted(kind.split(';')[0].strip())}`)")
            query = request.query_params
            if query:
                wrong = [{"loc": ("query", k), "msg": "not a parameter of this call" if k not in known else
                          "given more than once", "type": "query"}
                         for k in dict.fromkeys(query) if k not in known or len(query.getlist(k)) > 1]
                if wrong:
                    raise RequestValidationError(wrong)
            return await handler(_StrictRequest(request.scope, request.receive))
        return strict


def _is_json(content_type: str) -> bool:
    kind = content_type.split(";")[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


def _query_names(dependant: Dependant) -> set[str]:
    """The query parameters a route reads, its dependencies' included."""
    return {p.alias for p in dependant.query_params}.union(*(_query_names(d) for d in dependant.dependencies))


class _BodyLimit:
    """Refuses a body larger than `limit` bytes with 413, by its Content-Length or as it arrives; and
    one not wholly received within `timeout` seconds of the request's start with 408 (the connection
    closed: what is left of the body is never read)."""

    def __init__(self, app: ASGIApp, limit: int, timeout: float = BODY_TIMEOUT) -> None:
        self.app, self.limit, self.timeout = app, limit, timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _send_problem(send, 413, f"the request body is larger than {self.limit:,} bytes")
            return
        seen = 0
        timeout = self.timeout
        deadline = asyncio.get_running_loop().time() + timeout
        whole = False  # once the body is in, `receive` only waits for the client to go: not timed

        async def limited() -> Message:
            nonlocal seen, whole
            if whole:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - asyncio.get_running_loop().time()))
            except TimeoutError:
                raise HTTPException(408, f"the request body did not arrive within {timeout:g} seconds",
                                    headers={"Connection": "close"}) from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise HTTPException(413, f"the request body is larger than {self.limit:,} bytes")
                whole = not message.get("more_body", False)
            else:
                whole = True
            return message

        await self.app(scope, limited, send)


class _Measure:
    """Counts every request by method, route and status, and times it to its last byte. A plain ASGI
    middleware: `@app.middleware("http")` (Starlette's BaseHTTPMiddleware) cost more per request than
    deciding does."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # unless an answer starts: an exception on its way to the 500 handler

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            self.metrics.observe(scope["method"], route.path if isinstance(route, APIRoute) else "(unmatched)",
                                 status, time.perf_counter() - start)


class _FastDecide:
    """`POST /v1/decide` answered without FastAPI's routing, dependency and response machinery when it
    succeeds: a known token of a role that may decide, a JSON body that is a valid decide request, an
    incident the version decides. That is most of the service's traffic, and the machinery cost about
    a fifth of such a request's CPU (docs/performance.md, "The service").

    Anything else (no token, a bad body, an unknown version, an incident that does not fit, a bug) is
    handed to the app as it came, its body replayed, before anything is recorded: every error is
    answered by the one path that answers it for every route, so the two never disagree. Past that
    point only the store can fail, and that answer (503, nothing recorded) is the app's own too."""

    PATH = "/v1/decide"

    def __init__(self, app: ASGIApp, service: Service, router: APIRouter) -> None:
        # made when the app serves its first request, when every route is there
        self.app, self.service = app, service
        self.route = next(r for r in router.routes if isinstance(r, APIRoute) and r.path == self.PATH
                          and "POST" in (r.methods or ()))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["path"] != self.PATH or scope["method"] != "POST"
                or scope.get("query_string") or not self._admits(scope)):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:  # the body, through _BodyLimit's receive: too large is a 413 from there
            try:
                message = await receive()
            except HTTPException as exc:
                await _send_problem(send, exc.status_code, str(exc.detail), exc.headers)
                return
            if message["type"] != "http.request":  # the client went away: the app counts it as for any route
                await self.app(scope, _replaying(b"".join(chunks), receive, then=message), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        service = self.service
        try:
            asked = DecideRequest.model_validate(decode_json(body))
            text, fields = service.decided(service.library, asked.policy, asked.incident, asked.as_of)
        except Exception:  # every refusal (and any bug) is the app's to answer
            await self.app(scope, _replaying(body, receive), send)
            return
        scope["route"] = self.route  # for the metrics' route label, as the router sets it
        try:
            await service.log.append(fields)
        except StoreError:
            service.metrics.store_errors.inc()
            await _send_problem(send, 503, "the store cannot be reached; nothing was recorded")
            return
        service.logged(fields)
        data = text.encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(data)).encode()), (b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": data})

    def _admits(self, scope: Scope) -> bool:
        """A JSON body, and a bearer token of a role that may decide (as the app's own checks read them)."""
        authorization = kind = None
        for name, value in scope["headers"]:
            if name == b"authorization" and authorization is None:
                authorization = value.decode("latin-1")
            elif name == b"content-type" and kind is None:
                kind = value.decode("latin-1")
        if kind is None or kind.split(";")[0].strip().lower() != "application/json":
            return False
        scheme, credentials = get_authorization_scheme_param(authorization)
        if scheme.lower() != "bearer" or not credentials:
            return False
        token = self.service.tokens.role_of(credentials)
        return token is not None and allows(token.role, "read")


class _Caller:
    """The dependency that admits a call needing the role `needed` (401 or 403 otherwise). A class, so
    that _StrictRoute finds it among a route's dependencies and runs it before the body is read.
    Async: FastAPI runs a plain `def` dependency in its thread pool, a hop per request for a comparison
    of a few bytes (it does no I/O)."""

    def __init__(self, tokens: Tokens, needed: Role) -> None:
        self.tokens, self.needed = tokens, needed

    async def __call__(self, credentials: Annotated[HTTPAuthorizationCredentials | None,
                                                    Depends(_BEARER)]) -> Token:
        if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
            raise HTTPException(401, "a bearer token is required (Authorization: Bearer TOKEN)",
                                headers={"WWW-Authenticate": "Bearer"})
        token = self.tokens.role_of(credentials.credentials)
        if token is None:
            raise HTTPException(401, "the token is not valid", headers={"WWW-Authenticate": "Bearer"})
        if not allows(token.role, self.needed):
            raise HTTPException(403, f"this call needs a token with the {self.needed} role")
        return token


def _replaying(body: bytes, receive: Receive, then: Message | None = None) -> Receive:
    """`receive` with the body already read given again first (and `then`, the message that came after
    it, when that was the client going away)."""
    given: list[Message] = [{"type": "http.request", "body": body, "more_body": then is not None}]
    if then is not None:
        given.append(then)

    async def again() -> Message:
        if given:
            return given.pop(0)
        return await receive()
    return again


async def _send_problem(send: Send, status: int, detail: str, headers: Mapping[str, str] | None = None) -> None:
    body = orjson.dumps({"type": "about:blank", "title": _TITLES.get(status, "Error"), "status": status,
                         "detail": detail})
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", PROBLEM.encode()), (b"content-length", str(len(body)).encode()),
                            *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items())]})
    await send({"type": "http.response.body", "body": body})


class _Paths:
    """Paths as sent, not as uvicorn decodes them. A path whose %-escapes do not decode to UTF-8 is
    refused (400): decoded with replacement characters, `%FF` and `%FE` would name one incident. And
    an incident's id is one segment of the path as sent, %-decoded: an id holding `/` (which ids may)
    is reachable as `%2F`, where the decoded path would split it into segments no route matches. The
    id's segment is left encoded in the path the router matches, and the id itself is kept in the
    scope for `_incident_id`."""

    PREFIX = b"/v1/incidents/"

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path") if scope["type"] == "http" else None
        if isinstance(raw, bytes):  # a server that does not give it: the path as it decoded it
            try:
                unquote_to_bytes(raw).decode("utf-8")
            except UnicodeDecodeError as exc:
                await _send_problem(send, 400, f"the path is not UTF-8 once its %-escapes are decoded (byte "
                                               f"{exc.start + 1} of the decoded path): ids are UTF-8 text, with "
                                               "each byte of a character outside ASCII written %XX")
                return
            if raw.startswith(self.PREFIX):
                segment, slash, rest = raw[len(self.PREFIX):].partition(b"/")
                scope["path"] = (self.PREFIX + segment + slash).decode("latin-1") + unquote(rest.decode("latin-1"))
                scope[_INCIDENT_ID] = unquote_to_bytes(segment).decode("utf-8")
        await self.app(scope, receive, send)


_INCIDENT_ID = "bwc.incident_id"


async def _incident_id(request: Request, incident_id: Annotated[str, PathParam(
        description="The incident's id, %-encoded (`/` as `%2F`).")]) -> str:
    """The incident's id as the path gives it (see _Paths)."""
    found = request.scope.get(_INCIDENT_ID, incident_id)
    return found if isinstance(found, str) else incident_id


IncidentId = Annotated[str, Depends(_incident_id)]


class _Head:
    """HEAD answered as GET is, without the body (FastAPI routes answer GET only)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        # A scope of its own: the server reads the method in the one it gave (uvicorn sends no body for
        # HEAD, and counts the body against Content-Length for GET); the route the router sets is copied
        # back, for the metrics.
        inner = {**scope, "method": "GET"}
        try:
            await self.app(inner, receive, headers_only)
        finally:
            if "route" in inner:
                scope["route"] = inner["route"]


# --- the app --------------------------------------------------------------------------------------------

class Service:
    """What every request reads: the library (swapped whole, never edited), the store, the tokens.

    Several worker processes may serve one port (`bwc serve --workers N`), each with a Service of its
    own; what they share is in the store. A ruleset version loaded through one is in the store, and
    every other process adds it to its library: when a request names a version it does not hold, and
    otherwise within `SYNC` seconds (a background thread looks for new ones)."""

    def __init__(self, library: Library, store: Store, tokens: Tokens, replay_workers: int = 0,
                 loaded_seq: int = 0) -> None:
        self.library = library
        self.seq = loaded_seq  # the last version loaded into the store that `library` holds
        self.store = store
        self.tokens = tokens
        self.metrics = Metrics()
        self.loading = threading.Lock()  # one ruleset load or refresh at a time in this process
        self.log = DecisionLog(store)
        self.replays = Replays(store, lambda: self.library, now_text, replay_workers, refresh=self.refresh)
        self._stopping = threading.Event()
        self._sync: threading.Thread | None = None

    def begin(self) -> None:
        """Start the background work: picking up versions other processes load, and running replays."""
        self._sync = threading.Thread(target=self._syncing, name="bwc-sync", daemon=True)
        self._sync.start()
        self.replays.begin()

    def stop(self) -> None:
        self._stopping.set()
        with suppress(StoreError):  # the store is away: the replay is found interrupted by the next to look
            self.replays.stop()

    def _syncing(self) -> None:
        while not self._stopping.wait(SYNC):
            try:
                self.refresh()
                self.replays.heartbeat()
            except StoreError:
                continue  # tried again at the next turn; requests meanwhile answer 503 on their own

    def refresh(self) -> bool:
        """Add the versions loaded into the store since this process last looked (by another worker or
        server) to the library; True if there were any."""
        if not self.store.rulesets(self.seq):
            return False
        with self.loading:
            rows = self.store.rulesets(self.seq)
            library = self.library
            for row in rows:
                try:
                    library = adding(library, [row])
                except RulesetError as exc:  # a version another server loaded that clashes with our folders
                    print(f"bwc serve: the version {quoted(row[1])}@{quoted(row[2])} loaded by another server does "
                          f"not fit the rulesets this one serves, and is left out: {exc}", file=sys.stderr)
                self.seq = row[0]
            if library is not self.library:
                self.library = compiled(library)
            return bool(rows)

    def fresh(self, use: Callable[[Library], R]) -> R:
        """`use(library)`; once more, with the versions stored since, when it names a version this
        process does not hold yet (loaded through another worker a moment ago)."""
        try:
            return use(self.library)
        except (SelectionError, RulesetLookupError, ReplayError):
            if not self.refresh():
                raise
        return use(self.library)

    def load(self, text: str, ruleset_id: str, version: str) -> LoadedVersion:
        """Load a ruleset version (engine.service.loaded) and swap the new library in: a request already
        running keeps the library it started with."""
        with self.loading:
            library, loaded, seq = load(self.library, self.seq, self.store, text, now_text(),
                                        expected=(ruleset_id, version))
            self.library, self.seq = library, seq
            return loaded

    def caller(self, needed: Role) -> _Caller:
        return _Caller(self.tokens, needed)

    def decide(self, library: Library, ref: str, data: dict[str, Any] | Incident, as_of: str | None) -> str:
        """Decide, record in the log, and return the decision's JSON (recorded before it is returned)."""
        text, fields = self.decided(library, ref, data, as_of)
        self.log.append_now(fields)
        self.logged(fields)
        return text

    async def decide_async(self, library: Library, ref: str, data: dict[str, Any] | Incident,
                           as_of: str | None) -> str:
        """`decide`, from the event loop: the decision is made on it (it is short), and the commit of
        its log entry is awaited without holding the loop."""
        text, fields = self.decided(library, ref, data, as_of)
        await self.log.append(fields)
        self.logged(fields)
        return text

    def decided(self, library: Library, ref: str, data: dict[str, Any] | Incident,
                as_of: str | None) -> tuple[str, dict[str, str]]:
        """The decision's JSON and its log entry's fields, not recorded yet."""
        incident, policy = library.read(ref, data)
        why = id_problem(incident.id, "the incident's id")  # it is kept in the log
        if why is not None:
            raise IncidentError([Problem(incident.id, "id", why)])
        return self.entry(library.judge(ref, incident, policy, as_of), incident)

    def record(self, decision: Decision, incident: Incident) -> str:
        text, fields = self.entry(decision, incident)
        self.log.append_now(fields)
        self.logged(fields)
        return text

    def entry(self, decision: Decision, incident: Incident) -> tuple[str, dict[str, str]]:
        text = decision.to_json()
        return text, {
            "decision_id": decision.decision_id, "incident_id": decision.incident_id,
            "ruleset": decision.ruleset.id, "version": decision.ruleset.version, "digest": decision.ruleset.digest,
            "input_digest": "sha256:" + hashlib.sha256(dumps_canonical(incident.to_json()).encode()).hexdigest(),
            "as_of": decision.as_of, "recorded_at": now_text(), "decision": text}

    def logged(self, fields: dict[str, str]) -> None:
        self.metrics.decisions.labels(fields["ruleset"], fields["version"]).inc()


# --- the OpenAPI document: every error a route may answer, as a problem document --------------------

_WHY = {400: "The body is not JSON as the engine reads it (a key twice, NaN, nesting past 64 levels, a lone "
             "surrogate), or the path is not UTF-8 once its %-escapes are decoded: `detail` says where.",
        408: "The body did not arrive in time (30 seconds from the request's start); the connection is closed.",
        401: "No bearer token, or one the service does not know.",
        403: "The token's role does not allow this call.",
        404: "An unknown ruleset, version, incident, decision or replay.",
        409: "Other content for an id already stored (an incident's facts, an event id).",
        413: "The body is larger than `--max-body` (or a batch holds more than 1,000 incidents).",
        415: "The body is compressed (Content-Encoding), or a ruleset is not sent as YAML text.",
        422: "The request lacks the expected fields (`errors`: where and why), its body is not sent as JSON "
             "(Content-Type: application/json), or the incident does not fit the "
             "vocabulary (`problems`).",
        503: "The store cannot be reached: nothing was recorded, unless `detail` says otherwise (a batch recorded "
             "in part lists the decisions recorded in `recorded`; an append whose events were stored gives "
             "`appended`)."}
_PROBLEM_SCHEMA = {"$ref": "#/components/schemas/Problem"}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for the errors a route answers besides those every route of its kind shares (which
    `_install_openapi` adds): each a problem document."""
    return {code: {"description": _WHY[code], "content": {PROBLEM: {"schema": _PROBLEM_SCHEMA}}} for code in codes}


def _install_openapi(app: FastAPI) -> None:
    """Completes FastAPI's OpenAPI document with what the service's own machinery answers on every route
    of a kind: 401 and 403 where a token is needed, 400 and 413 where a body is read, 422 where there
    is a parameter or a body. Every 4xx and 5xx is a problem document (`Problem`), never FastAPI's
    `HTTPValidationError`, which the service does not send."""
    made = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = made()
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        problem_schema = models.Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(problem_schema.pop("$defs", {}))
        schemas["Problem"] = problem_schema
        for operations in doc.get("paths", {}).values():
            for op in operations.values():
                path_params = any(p.get("in") == "path" for p in op.get("parameters", ()))
                shared = [*((401, 403) if op.get("security") else ()),
                          *((400, 408, 413, 415) if "requestBody" in op else (400,) if path_params else ())]
                if op.get("parameters") or "requestBody" in op:
                    shared.append(422)
                answers = op.setdefault("responses", {})
                for code in shared:
                    answers.setdefault(str(code), {"description": _WHY[code]})
                for code, answer in answers.items():
                    if code[0] in "45" and PROBLEM not in answer.get("content", {}):
                        if answer.get("description") == "Validation Error":
                            answer["description"] = _WHY[422]
                        answer["content"] = {PROBLEM: {"schema": _PROBLEM_SCHEMA}}
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


def _check_as_of(as_of: str | None, where: str) -> None:
    """Refuses an `as_of` that is not a time (422), naming the parameter, where the engine's own message
    would name the command line's `--as-of`, or call it a misfit of the incident."""
    if as_of is None or as_of == "now":
        return
    try:
        parse_timestamp(as_of)
    except ValueError as exc:
        raise HTTPException(422, f"`as_of` (in the {where}): {exc}, or `now`") from None


def _holding(library: Library, ref: str) -> Library:
    """`library`, once it is known to hold the ruleset `ref` names (SelectionError otherwise)."""
    library.select(ref)
    return library


def _json(text: str, status: int = 200) -> Response:
    return Response(text, status_code=status, media_type="application/json")


def create_app(library: Library, store: Store, tokens: Tokens, *, max_body: int = MAX_BODY,
               replay_workers: int = 0, body_timeout: float = BODY_TIMEOUT) -> FastAPI:
    """The service over `library` (compiled once, here) and `store`, admitting `tokens`. Replays run
    with `replay_workers` processes (0: one per CPU). A request's body must arrive within
    `body_timeout` seconds of its start."""
    stored = store.rulesets()
    service = Service(compiled(adding(library, stored)), store, tokens, replay_workers,
                      loaded_seq=stored[-1][0] if stored else 0)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        service.begin()
        try:
            yield
        finally:
            service.stop()

    app = FastAPI(title="bwc-policy decision service", version="1", openapi_url="/v1/openapi.json",
                  docs_url=None, redoc_url=None, lifespan=lifespan,
                  redirect_slashes=False)  # a redirect would be built from the client's Host header
    app.router.route_class = _StrictRoute
    app.state.service = service
    _install_errors(app, service.metrics)
    metrics = service.metrics

    # outermost last: _BodyLimit, _Measure, _Internal, _FastDecide, _Paths, _Head, then FastAPI's own
    app.add_middleware(_Head)
    app.add_middleware(_Paths)
    app.add_middleware(_FastDecide, service=service, router=app.router)
    app.add_middleware(_Internal, metrics=metrics)
    app.add_middleware(_Measure, metrics=metrics)
    app.add_middleware(_BodyLimit, limit=max_body, timeout=body_timeout)

    read, write, admin = service.caller("read"), service.caller("write"), service.caller("admin")
    decision_response: dict[int | str, dict[str, Any]] = {200: {"model": DecisionDocument,
                                                                "description": "The decision (recorded)."}}

    # --- health ---------------------------------------------------------------------------------------

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={200: {"model": models.Ready}, **problems(503)})
    def readyz() -> Response:
        """Rulesets loaded, and the store can be read and can take writes (`detail` says why not)."""
        why = service.store.unready()
        if why is not None:
            metrics.store_errors.inc()
            return problem(503, _TITLES[503], why)
        return JSONResponse({"status": "ready", "rulesets": len(service.library.repository.ids())})

    @app.get("/metrics", tags=["health"], dependencies=[Depends(read)], response_class=Response,
             responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                              "description": "Prometheus text format."}})
    def prometheus() -> Response:
        """Prometheus metrics: requests and latencies by route, decisions by ruleset version, store errors."""
        return Response(metrics.render(), media_type=metrics.content_type)

    # --- decisions ------------------------------------------------------------------------------------

    @app.post("/v1/decide", tags=["decide"], dependencies=[Depends(read)],
              responses={**decision_response, **problems(404, 503)},
              response_class=Response)
    async def decide(body: DecideRequest) -> Response:
        """Decide one incident under `policy` (`id`: the version in force on its date; `id@version`: that
        version), as of `as_of` (default: its last event). The decision is recorded in the log."""
        _check_as_of(body.as_of, "body")
        try:
            return _json(await service.decide_async(service.library, body.policy, body.incident, body.as_of))
        except (SelectionError, RulesetLookupError):  # a version another worker loaded a moment ago?
            if not service.refresh():
                raise
        return _json(await service.decide_async(service.library, body.policy, body.incident, body.as_of))

    @app.post("/v1/decide/batch", tags=["decide"], dependencies=[Depends(read)], response_class=Response,
              responses={200: {"model": models.BatchDecisions, "description": "The decisions (recorded)."},
                         **problems(404, 503)})
    def decide_batch(body: BatchRequest) -> Response:
        """Decide up to 1,000 incidents; one that cannot be decided is reported by its index, and the
        others are decided. Each decision is recorded in the log."""
        if len(body.incidents) > MAX_BATCH:
            raise HTTPException(413, f"a batch holds at most {MAX_BATCH:,} incidents, not {len(body.incidents):,}")
        _check_as_of(body.as_of, "body")
        library = service.fresh(lambda library: _holding(library, body.policy))
        # this batch is decided by one library, whatever is swapped meanwhile
        decisions: list[str] = []
        refused: list[dict[str, Any]] = []
        entries: list[tuple[int, dict[str, str], Future[LogEntry]]] = []
        for k, data in enumerate(body.incidents):
            try:
                text, fields = service.decided(library, body.policy, data, body.as_of)
                entries.append((k, fields, service.log.submit(fields)))  # committed together, in this order
                decisions.append(text)
            except IncidentError as exc:
                decisions.append("null")
                refused.append({"index": k, "detail": "the incident does not fit the vocabulary",
                                "problems": _problems(exc)})
            except CalendarOverflow as exc:
                decisions.append("null")
                refused.append({"index": k, "detail": f"its dates run past the calendar: {exc}"})
        # Every decision recorded before any is returned. The log commits up to 256 entries at a time, so
        # a store failing midway may leave some recorded and some not: the answer says which were.
        recorded: list[int] = []
        failed = False
        for k, fields, done in entries:
            try:
                done.result()
            except StoreError:
                failed = True
                continue
            recorded.append(k)
            service.logged(fields)
        if failed:
            metrics.store_errors.inc()
            detail = (f"the store failed: {len(recorded)} of the {len(entries)} decisions were recorded (`recorded` "
                      "lists their indexes in `incidents`); send the others again" if recorded else
                      "the store cannot be reached; nothing was recorded")
            return problem(503, _TITLES[503], detail, recorded=recorded)
        return _json('{"decisions":[' + ",".join(decisions) + '],"refused":' + dumps_canonical(refused) + "}")

    @app.post("/v1/explain", tags=["decide"], dependencies=[Depends(read)], response_model=None,
              responses={200: {"model": models.Explanation}, **problems(404)})
    def explain(body: DecideRequest) -> dict[str, Any]:
        """For every rule of every version the decision weighs (the one that judges the incident, then
        the versions it extends and any amendment or conduct layer): whether it applies, and why (or why
        not); what `bwc explain --format json` prints for the same incident."""
        _check_as_of(body.as_of, "body")
        return service.fresh(lambda library: library.explain(body.policy, body.incident, body.as_of)).to_dict()

    # --- rulesets -------------------------------------------------------------------------------------

    @app.get("/v1/rulesets", tags=["rulesets"], dependencies=[Depends(read)])
    def rulesets() -> list[RulesetSummary]:
        """Every ruleset the service holds, with its versions (oldest first)."""
        service.refresh()
        repo = service.library.repository
        return [RulesetSummary(id=rid, title=repo.get(rid).title, versions=repo.versions(rid)) for rid in repo.ids()]

    @app.get("/v1/rulesets/{ruleset_id}", tags=["rulesets"], dependencies=[Depends(read)], responses=problems(404))
    def versions(ruleset_id: str) -> RulesetVersions:
        """The versions of one ruleset: status, dates in effect and content digest."""
        service.refresh()
        repo = service.library.repository
        found = [repo.get(ruleset_id, v) for v in repo.versions(ruleset_id)]
        return RulesetVersions(id=ruleset_id, versions=[VersionDocument.of(r, repo.digest(r)) for r in found])

    @app.get("/v1/rulesets/{ruleset_id}/versions/{version}", tags=["rulesets"], dependencies=[Depends(read)],
             response_model=None, responses={200: {"model": models.CanonicalVersion}, **problems(404)})
    def canonical(ruleset_id: str, version: str) -> dict[str, Any]:
        """One version's canonical form (the JSON its digest is computed from) and its digest."""
        repo, r = service.fresh(lambda library: (library.repository, library.repository.get(ruleset_id, version)))
        return {"id": ruleset_id, "version": version, "digest": repo.digest(r), "canonical": canonical_data(r)}

    @app.get("/v1/rulesets/{ruleset_id}/diff", tags=["rulesets"], dependencies=[Depends(read)],
             response_class=Response, responses={200: {"content": {"application/json": {"schema": {"type": "object"}}},
                                                        "description": "The diff, as `bwc diff --format json`."},
                                                  **problems(404)})
    def diff(ruleset_id: str, from_: str = Query(alias="from"), to: str = Query()) -> Response:
        """What changed from one version to another, rule by rule (`bwc diff --format json`)."""
        old, new = service.fresh(lambda library: (library.repository.get(ruleset_id, from_),
                                                  library.repository.get(ruleset_id, to)))
        return _json(ruleset_diff.render_json(ruleset_diff.diff(old, new)))

    @app.put("/v1/rulesets/{ruleset_id}/versions/{version}", tags=["rulesets"], dependencies=[Depends(admin)],
             status_code=201, response_model=LoadedVersion,
             responses={200: {"model": LoadedVersion, "description": "The service held this very version."},
                        415: {"description": "The body is not YAML text."},
                        422: {"description": "The ruleset has problems: each with line, column and code."}},
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/yaml": {"schema": {"type": "string"}}}}})
    async def load(ruleset_id: str, version: str, request: Request) -> Response:
        """Load a new ruleset version from its YAML (the body; never from a path): checked against the
        versions held as `bwc check` checks files, compiled, kept in the store (so it is there after a
        restart), then swapped in at once - decisions already running finish on the versions they
        started with. A version, once loaded, never changes; loading the same text again is harmless."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in _YAML_TYPES:
            raise HTTPException(415, "send the ruleset as YAML text: Content-Type: application/yaml")
        body = await request.body()
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HTTPException(400, f"the body is not UTF-8 text (byte {exc.start + 1})") from None
        loaded = await run_in_threadpool(service.load, text, ruleset_id, version)
        return JSONResponse(loaded.model_dump(), status_code=201 if loaded.loaded else 200)

    # --- replay ---------------------------------------------------------------------------------------

    @app.post("/v1/replays", tags=["replay"], dependencies=[Depends(write)], status_code=202,
              responses={422: {"description": "An unknown version or a bad period."}})
    def start_replay(body: ReplayRequest) -> JSONResponse:
        """Start a replay: the stored incidents whose first event falls in [since, until), decided under
        the baseline and the candidate, and what would change (the `bwc impact` report). It runs in the
        background, one replay at a time; follow it at the URL in `Location`."""
        _check_as_of(body.as_of, "body")
        job = service.fresh(lambda _: service.replays.start(body.candidate, body.baseline, body.since, body.until,
                                                            body.as_of))
        return JSONResponse(job_dict(job, report=False), status_code=202,
                            headers={"Location": f"/v1/replays/{job.id}"})

    @app.get("/v1/replays", tags=["replay"], dependencies=[Depends(read)])
    def replays() -> list[dict[str, Any]]:
        """The replays kept in the store (without their reports), oldest first."""
        return [job_dict(job, report=False) for job in service.replays.all()]

    @app.get("/v1/replays/{replay_id}", tags=["replay"], dependencies=[Depends(read)], responses=problems(404))
    def replay(replay_id: str) -> Response:
        """A replay's state (queued, running, done, failed), its progress, and its report when done."""
        job = service.replays.get(replay_id)
        if job is None:
            raise HTTPException(404, f"no replay `{quoted(replay_id)}` (the store keeps the newest "
                                     f"{REPLAYS_KEPT} finished replays)")
        head = orjson.dumps(job_dict(job, report=False)).decode()
        return _json(head[:-1] + ',"report":' + (job.report or "null") + "}")

    # --- incidents as a stream of events ------------------------------------------------------------

    @app.put("/v1/incidents/{incident_id}", tags=["incidents"], dependencies=[Depends(write)], status_code=201,
             responses={201: {"model": models.IncidentOpened, "description": "Opened."},
                        200: {"model": models.IncidentOpened, "description": "The same incident was there already."},
                        **problems(404, 409, 503)})
    def create_incident(incident_id: IncidentId, body: IncidentRequest) -> Response:
        """Open an incident: the policy that judges it, its time zone and its facts (fixed from now on).
        Sending the same again is harmless; other content for the same id is a conflict."""
        library = service.fresh(lambda library: _holding(library, body.policy))  # unknown: refused, nothing stored
        reader = IncidentReader(library.vocabulary(body.policy))
        found = reader.header_problems(incident_id, body.timezone, body.facts)
        why = id_problem(incident_id, "the incident's id")
        if why is not None:
            found.insert(0, Problem(incident_id, "id", why))
        if found:
            raise IncidentError(found)
        created = service.store.create_incident(incident_id, body.policy, body.timezone, body.facts, now_text())
        return JSONResponse({"incident_id": incident_id, "created": created}, status_code=201 if created else 200)

    @app.post("/v1/incidents/{incident_id}/events", tags=["incidents"], dependencies=[Depends(write)],
              response_class=Response, responses={200: {"model": models.Appended, "description": "Committed."},
                                                  **problems(404, 409, 503)})
    def append(incident_id: IncidentId, body: AppendRequest) -> Response:
        """Append events, each with the client's `event_id` (a retry of an event already stored is
        skipped, so retries are safe). The events are checked with the incident before anything is
        stored; the answer comes after they are committed, with the incident's decision as of its last
        event (recorded in the log)."""
        if len({e.event_id for e in body.events}) != len(body.events):
            raise HTTPException(422, "two events of one request have the same event_id")
        unkept = [Problem(incident_id, where, why) for where, why in
                  [("id", id_problem(incident_id, "the incident's id")),
                   *((f"events[{k}].event_id", id_problem(e.event_id, "the event's id"))
                     for k, e in enumerate(body.events))] if why is not None]
        if unkept:
            raise IncidentError(unkept)

        def append_with(library: Library) -> tuple[int, tuple[Decision, Incident]] | None:
            def check(stored: StoredIncident, new: list[dict[str, Any]]) -> tuple[Decision, Incident]:
                # The incident as it will be once these are committed, read and decided: whatever reading
                # or deciding refuses (a date whose deadline runs past the calendar, say) refuses the
                # events here, before anything is stored; stored, it would make the incident undecidable.
                incident, policy = library.read(stored.policy, {**stored.data(), "events": [*stored.events, *new]})
                return library.judge(stored.policy, incident, policy), incident
            return service.store.append_events(incident_id, [(e.event_id, e.event) for e in body.events],
                                               now_text(), check)

        library = service.library
        try:
            done = append_with(library)
        except (SelectionError, RulesetLookupError):  # the incident's version was loaded by another process
            if not service.refresh():
                raise
            library = service.library
            done = append_with(library)
        if done is None:
            raise HTTPException(404, f"no incident `{quoted(incident_id)}`: open it first "
                                     f"(PUT /v1/incidents/{quoted(incident_id)})")
        added, (decision, incident) = done
        try:
            text = service.record(decision, incident)
        except StoreError:  # the events are committed: the client must not read "nothing was recorded"
            metrics.store_errors.inc()
            return problem(503, _TITLES[503], f"the events were stored ({added} new), but the store failed before "
                           "the decision was recorded in the log: ask for it with GET /v1/incidents/"
                           f"{quoted(incident_id)}/decision (sending the same events again is safe: they are "
                           "skipped)", appended=added)
        return _json(f'{{"appended":{added},"decision":{text}}}')

    @app.get("/v1/incidents/{incident_id}/decision", tags=["incidents"], dependencies=[Depends(read)],
             responses={**decision_response, **problems(404, 503)}, response_class=Response)
    def current(incident_id: IncidentId, as_of: str | None = None) -> Response:
        """The incident's decision from the events stored, as of `as_of` (default: its last event)."""
        _check_as_of(as_of, "query")
        stored = service.store.incident(incident_id)
        if stored is None:
            raise HTTPException(404, f"no incident `{quoted(incident_id)}`")
        return _json(service.fresh(lambda library: service.decide(library, stored.policy, stored.data(), as_of)))

    # --- the decision log ---------------------------------------------------------------------------

    @app.get("/v1/decisions/{decision_id}", tags=["decision log"], dependencies=[Depends(read)],
             response_class=Response, responses={200: {"model": models.LogEntryDocument}, **problems(404, 503)})
    def logged(decision_id: str) -> Response:
        """A decision the service returned, as recorded: ruleset, digests, times, the chain's hashes."""
        entry = service.store.entry(decision_id)
        if entry is None:
            raise HTTPException(404, f"no decision `{quoted(decision_id)}` in the log")
        return _json(_entry_json(entry.to_dict()))

    @app.get("/v1/decisions", tags=["decision log"], dependencies=[Depends(read)], response_class=Response,
             responses={200: {"content": {"application/x-ndjson": {}}, "description": "One entry per line."},
                        **problems(503)})
    def export(since: str | None = None, until: str | None = None) -> Response:
        """The log as JSON Lines, oldest first; `since`/`until` bound the time recorded (ISO 8601)."""
        try:  # to the log's own form of times: compared as text, another offset or form would mislead
            start, end = period(since, until, recorded_text)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None

        def lines() -> Iterator[bytes]:
            for entry in service.store.entries(start, end):
                yield (_entry_json(entry.to_dict()) + "\n").encode()
        return StreamingResponse(lines(), media_type="application/x-ndjson")

    @app.get("/v1/decisions-log/verify", tags=["decision log"], dependencies=[Depends(admin)], response_model=None,
             responses={200: {"model": models.Verification}, **problems(503)})
    def verify(head: str | None = None) -> dict[str, Any]:
        """Walk the whole chain; `head` (a hash saved earlier) also catches entries removed from the end."""
        result = service.store.verify(head)
        return {"ok": result.ok, "entries": result.entries, "head": result.head, "problems": result.problems,
                "head_at": result.head_at, "added_since_head": result.added_since_head}

    _install_openapi(app)
    return app


def _entry_json(fields: dict[str, Any]) -> str:
    """A log entry as JSON, its decision embedded as the very bytes that were returned. A decision that
    is no longer JSON (its row changed behind bwc's back) is given as text, with the entry's `problem`
    saying so: pasted in, it would break the line, and every line after it for a reader of the export."""
    decision: str = fields.pop("decision")
    try:
        orjson.loads(decision)
    except orjson.JSONDecodeError:
        said = "its decision is not JSON (the row was changed in the database behind bwc's back)"
        fields["problem"] = f"{fields['problem']}; {said}" if fields.get("problem") else said
        return dumps_canonical({**fields, "decision": decision})
    head = dumps_canonical(fields)
    return head[:-1] + ',"decision":' + decision + "}"


__all__ = ["MAX_BODY", "Service", "create_app", "now_text", "problem"]
