"""The service's store: incidents and their events (append-only), the decision log (append-only,
hash-chained) and the ruleset versions loaded through the service. SQLite (WAL) by default, nothing else
to install; PostgreSQL when given its URL. The schema is the same on both, made and upgraded by the
Alembic migrations of engine/service/migrations when the store is opened.

Every write is one transaction, committed before the call returns, so an answer the service gave is
on disk (SQLite with `synchronous=FULL`, PostgreSQL with `synchronous_commit=on`). The decision log is
a chain: each entry's `hash` is the SHA-256 of the previous entry's hash and the entry's own canonical
JSON, so editing or deleting any entry breaks every hash after it (`verify`). Deleting the newest
entries leaves a shorter, valid chain: `verify` catches that against a head hash saved elsewhere (`bwc
log verify --head`). Triggers refuse updates and deletions through SQL; the chain catches a store
edited behind their back.

Several servers may write to one PostgreSQL database at once. Appends to the log are serialized by a
transaction-scoped advisory lock, so each entry links to the one committed before it; appends to an
incident lock its row, so two never number their events alike; migrations run under an advisory lock
too, so servers started together do not race to create the schema.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import os
import re
import stat
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote, urlsplit

import orjson

from policy.canonical import dumps_canonical
from policy.values import parse_timestamp, quoted, quoted_path

if TYPE_CHECKING:
    from sqlalchemy import URL, Connection, Engine, TextClause

T = TypeVar("T")

_LOG_COLUMNS = ("seq", "decision_id", "incident_id", "ruleset", "version", "digest", "input_digest", "as_of",
                "recorded_at", "decision", "prev", "hash")
_INCIDENT_COLUMNS = ("incident_id", "policy", "timezone", "facts", "created_at", "first_event_at")
_EVENT_COLUMNS = ("incident_id", "seq", "event_id", "event", "received_at")
_RULESET_COLUMNS = ("ruleset", "version", "seq", "digest", "text", "loaded_at")
_REPLAY_COLUMNS = ("id", "candidate", "baseline", "baseline_ref", "since", "until", "as_of", "requested_at", "state",
                   "total", "scanned", "decided", "started_at", "finished_at", "runner", "host", "pid",
                   "heartbeat_at", "error", "report")

# PostgreSQL advisory lock keys (any 64-bit numbers no other program on the database uses: "bwc" and
# what each serializes, in ASCII).
_LOG_LOCK = 0x6277_632D_6C6F_67  # bwc-log: appends to the decision log
_RULESETS_LOCK = 0x6277_632D_7275_6C  # bwc-rul: loads of ruleset versions
_MIGRATION_LOCK = 0x6277_632D_6D69_67  # bwc-mig: schema migrations
_REPLAYS_LOCK = 0x6277_632D_7265_70  # bwc-rep: claims of replay jobs (one runs at a time)

_URL_HELP = ("write sqlite:///bwc.db (a file beside you), sqlite:////var/lib/bwc/bwc.db (an absolute path) or "
             "postgresql://USER:PASSWORD@HOST:5432/DATABASE")


class StoreError(Exception):
    """The store cannot be opened or used: the message says which store (never its password) and why."""


class Conflict(Exception):
    """A write that contradicts what is stored (an incident created again with other facts)."""


MAX_ID = 200
"""Characters of an incident's or an event's id, at most: a key PostgreSQL indexes (an index entry
holds about 2,700 bytes; 200 characters are 800 bytes at most in UTF-8)."""


def id_problem(value: str, what: str) -> str | None:
    """Why the store cannot keep `value` as `what` (an incident's or an event's id), or None. The rule
    is the same on SQLite and PostgreSQL, so a request is answered alike whichever store serves it."""
    if not value:
        return f"{what} is empty"
    if "\x00" in value:  # PostgreSQL's text cannot hold it
        return f"{what} holds a NUL character (U+0000), which the store cannot keep"
    if len(value) > MAX_ID:
        return f"{what} is {len(value):,} characters long; the store keeps ids of at most {MAX_ID}"
    return None


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One decision the service returned, as recorded."""

    seq: int
    decision_id: str
    incident_id: str
    ruleset: str
    version: str
    digest: str
    input_digest: str
    as_of: str
    recorded_at: str
    decision: str  # the decision's JSON, as returned
    prev: str
    hash: str
    # Set for an entry the database holds values of the wrong type in (a row changed behind the triggers'
    # back): what is wrong, in words. Its fields are then those values shown as text, and its `seq` is 0
    # (never an entry's number) when the stored one is no whole number: the words say what it is.
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in _LOG_COLUMNS}
        if self.problem is not None:
            out["problem"] = self.problem
        return out


@dataclass(frozen=True, slots=True)
class NotText:
    """A value SQLite keeps as text but that is not UTF-8 (written behind bwc's back): its bytes, read
    as they are instead of failing the whole query (`Store._session(lenient=True)`)."""

    data: bytes


def _lenient_text(data: bytes) -> str | NotText:
    try:
        return data.decode()
    except UnicodeDecodeError:
        return NotText(data)


def _kind(value: object) -> str:
    """What a value read from the database is, in words, for one that is not of its column's type."""
    if value is None:
        return "empty (NULL)"
    if isinstance(value, NotText):
        return f"not UTF-8 text (bytes {value.data[:16].hex(' ')}{' ...' if len(value.data) > 16 else ''})"
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        return f"binary data (a BLOB: {data[:16].hex(' ') or 'empty'}{' ...' if len(data) > 16 else ''})"
    if isinstance(value, bool | int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"text ({quoted(repr(value))})"
    return f"a {type(value).__name__}"


def _shown(value: object) -> str:
    """A value read from the database as text, whatever it is (for an entry whose row was damaged)."""
    if isinstance(value, str):
        return value
    if isinstance(value, NotText):
        return value.data.decode(errors="replace")
    if isinstance(value, bytes | bytearray | memoryview):
        return "x'" + bytes(value).hex() + "'"  # as SQL writes a BLOB
    return "" if value is None else str(value)


def _wrong_types(row: Any, columns: tuple[str, ...], numbers: frozenset[str] = frozenset()) -> list[str]:
    """The columns of `row` whose value is not of the type bwc writes there (text; a whole number for
    those in `numbers`), each with what it is instead."""
    wrong = []
    for name, value in zip(columns, row, strict=True):
        if type(value) is not (int if name in numbers else str):
            wrong.append(f"`{name}` is {_kind(value)}{_instead(value, name in numbers)}")
    return wrong


def _instead(value: object, number: bool) -> str:
    """What a value should have been, after what it is (nothing more to say of text that is not UTF-8)."""
    return ", not a whole number" if number else "" if isinstance(value, NotText) else ", not text"


_ALTERED = "the row was changed in the database behind bwc's back"
_HASH = re.compile(r"[0-9a-f]{64}")


def is_head(text: str) -> bool:
    """Whether `text` can be a head of the decision log (an entry's hash, as `verify` prints it)."""
    return _HASH.fullmatch(text.strip().lower()) is not None


def _bindable(value: object) -> object:
    """A value read from the database as it can be given back in a query (to page on from it)."""
    return value.data if isinstance(value, NotText) else value


def _log_entry(row: Any) -> LogEntry:
    """A row of `decisions` as an entry: values of the wrong type are shown as text, and said (`problem`)."""
    wrong = _wrong_types(row, _LOG_COLUMNS, frozenset({"seq"}))
    if not wrong:
        return LogEntry(*row)
    seq = row[0] if type(row[0]) is int else 0
    return dataclasses.replace(LogEntry(seq, *(_shown(v) for v in row[1:])), problem=f"{'; '.join(wrong)} ({_ALTERED})")


def _entry_name(row: Any) -> str:
    """An entry as a message names it: by its number, or by what is stored where its number should be."""
    return f"entry {row[0]}" if type(row[0]) is int else f"the entry stored with the number {_shown(row[0])!r}"


@dataclass(frozen=True, slots=True)
class StoredIncident:
    incident_id: str
    policy: str
    timezone: str
    facts: dict[str, Any]
    events: list[dict[str, Any]]  # in the order received

    def data(self) -> dict[str, Any]:
        """The incident as `Library.decide` reads it."""
        return {"id": self.incident_id, "timezone": self.timezone, "facts": self.facts, "events": self.events}


@dataclass(frozen=True, slots=True)
class UnreadableIncident:
    """An incident the store holds but cannot give back whole: its row or one of its events was changed
    in the database behind bwc's back (a value of the wrong type, text that is not JSON)."""

    incident_id: str  # as stored, shown as text
    policy: str | None  # when it can be read: a replay of other rulesets passes the incident by
    problem: str  # what is wrong, in words, naming the incident


class DamagedRow(StoreError):
    """A row the store holds cannot be read back (changed in the database behind bwc's back): the
    message names it and says what is wrong."""


def _json_object(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """The JSON object `text` holds, or None and why it holds none."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return None, f"not JSON ({exc})"
    if not isinstance(value, dict):
        return None, f"not a JSON object (it is {_kind(value) if not isinstance(value, list) else 'a list'})"
    return value, None


def _read_incident(row: Any, events: list[tuple[Any, Any]]) -> StoredIncident | UnreadableIncident:
    """An incident as the store holds it: `row` (incident_id, policy, timezone, facts) and its events as
    (seq, event) in order, every value checked, since any may have been changed behind bwc's back."""
    wrong = _wrong_types(row, ("incident_id", "policy", "timezone", "facts"))
    incident_id, policy, timezone, facts = row
    facts_value: dict[str, Any] | None = None
    if type(facts) is str:
        facts_value, why = _json_object(facts)
        if why is not None:
            wrong.append(f"its facts are {why}")
    decoded: list[dict[str, Any]] = []
    for seq, text in events:
        event = f"event {seq}" if type(seq) is int else f"event numbered {_shown(seq)!r}"
        if type(seq) is not int:
            wrong.append(f"the number of its {event} is {_kind(seq)}, not a whole number")
        if type(text) is not str:
            wrong.append(f"its {event} is {_kind(text)}{_instead(text, False)}")
            continue
        value, why = _json_object(text)
        if value is None:
            wrong.append(f"its {event} is {why}")
        else:
            decoded.append(value)
    if wrong or facts_value is None:
        problem = (f"incident `{quoted(_shown(incident_id))}` cannot be read from the store: "
                   f"{'; '.join(wrong[:5])}{' ...' if len(wrong) > 5 else ''} ({_ALTERED})")
        return UnreadableIncident(_shown(incident_id), policy if type(policy) is str else None, problem)
    return StoredIncident(incident_id, policy, timezone, facts_value, decoded)


@dataclass(frozen=True, slots=True)
class Verification:
    entries: int
    head: str  # the hash of the newest entry ("" for an empty log)
    problems: list[str]
    head_at: int | None = None  # the number of the entry whose hash is the head given, when found
    added_since_head: int = 0  # entries after that one: the log has grown since the head was saved

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class StoredReplay:
    """A replay job as kept in the store (engine.service.replay runs it)."""

    id: str
    candidate: str
    baseline: str | None  # as asked (None: the default)
    baseline_ref: str  # the version it is compared with
    since: str | None
    until: str | None
    as_of: str | None
    requested_at: str
    state: str  # queued, running, done, failed
    total: int
    scanned: int
    decided: int
    started_at: str | None
    finished_at: str | None
    runner: str | None
    host: str | None
    pid: int | None
    heartbeat_at: str | None
    error: str | None
    report: str | None  # JSON; None until done, and in listings

    def row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _REPLAY_COLUMNS}


def entry_hash(prev: str, fields: Mapping[str, Any]) -> str:
    """The chain's hash of one entry: SHA-256 of the previous hash and the entry's canonical JSON."""
    data = dict(fields)
    text: bytes | None = None
    if all(type(v) is str or (type(v) is int and abs(v) < 1 << 62) for v in data.values()):
        # Text and small integers only (every entry's fields): orjson's sorted output is the canonical
        # JSON byte for byte (dumps_canonical falls back to `json` only for floats and huge integers),
        # without dumps_canonical's search of the output for floats, which costs more than the hash here.
        try:
            text = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:  # a lone surrogate: left to dumps_canonical, which says so
            text = None
    if text is None:
        text = dumps_canonical(data).encode()
    return hashlib.sha256(prev.encode() + b"\n" + text).hexdigest()


def _never_kept(key: str) -> bool:
    """Whether a key a client asks for cannot be in the store, and PostgreSQL would refuse to look it up.
    (Only NUL: a longer id than the store now keeps may be in a store made before the limit.)"""
    return "\x00" in key


def utc_text(time: str) -> str:
    """An ISO timestamp with an offset as UTC ISO text of fixed width, so that text order is time order."""
    return datetime.fromisoformat(time).astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def recorded_text(time: str) -> str:
    """An ISO timestamp with an offset as the decision log's `recorded_at` holds times (`+00:00`, not
    utc_text's `Z`: the form is in every entry's hash, so it stays), of fixed width as well."""
    return datetime.fromisoformat(time).astimezone(UTC).isoformat(timespec="microseconds")


def period(since: str | None, until: str | None, text: Callable[[str], str]) -> tuple[str | None, str | None]:
    """[since, until) as a column holds times (`text`: utc_text or recorded_text), each end a time with
    its offset or open. Raises ValueError naming the end at fault, or saying the period is empty."""
    ends: list[str | None] = []
    for name, value in (("since", since), ("until", until)):
        try:
            ends.append(None if value is None else text(parse_timestamp(value).isoformat()))
        except ValueError as exc:
            raise ValueError(f"`{name}`: {exc}") from None
    if ends[0] is not None and ends[1] is not None and ends[0] >= ends[1]:
        raise ValueError(f"the period is empty: `since` ({since}) is not before `until` ({until})")
    return ends[0], ends[1]


def without_password(url: str) -> str:
    """`url` with its password (if any, after the user name or as a `password=` parameter, which
    libpq also reads) replaced by ***, for every message that names a store."""
    url = re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/?#@:]*:)[^/?#]*@", r"\1***@", url)
    return re.sub(r"([?&]password=)[^&#]*", r"\1***", url, flags=re.IGNORECASE)


def sqlite_path(url: str) -> Path:
    """The file of a `sqlite:///path` URL (three slashes: a relative path; four: an absolute one)."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or parts.netloc or not parts.path or parts.query or parts.fragment:
        raise StoreError(f"`{quoted_path(without_password(url))}` is not a store URL: {_URL_HELP}")
    name = unquote(parts.path[1:])
    if name in ("", ":memory:"):  # SQLite's database in memory: gone, with all it was given, when bwc ends
        raise StoreError(f"`{quoted_path(url)}` names no file, and a store in memory would keep nothing once "
                         f"this command ends: {_URL_HELP}")
    return Path(name)


SQLITE_HEADER = b"SQLite format 3\x00"
"""How every SQLite database file begins (https://www.sqlite.org/fileformat.html, 1.3)."""


_OURS = frozenset({"alembic_version", "decisions"})
"""Tables every store bwc made holds, whatever its schema revision: Alembic's record of the revision, and
the decision log (made by the first revision, in the same transaction). A database holding other
things without both is someone else's."""


_NO_STORE = ("no store at {}: bwc has made none there (the name may be mistyped), so there is nothing to read; "
             "name the store the service uses")


def _check_sqlite_file(path: Path) -> bool:
    """A store's file is a new one, an empty one, or a store bwc made (True): anything else (a folder, a
    user's document, a pipe, another program's database, a damaged file) is refused before SQLite or bwc
    writes anything beside it or into it."""
    try:
        mode = path.stat().st_mode  # before opening: opening a named pipe to read waits for a writer
        if stat.S_ISDIR(mode):
            raise StoreError(f"cannot open the store {quoted_path(path)}: it is a folder; name a file in it, "
                             "e.g. sqlite:///" + quoted_path(path / "bwc.db"))
        if not stat.S_ISREG(mode):
            raise StoreError(f"cannot open the store {quoted_path(path)}: it is not a regular file (a device, a "
                             "pipe or a socket); name a new file, or a store bwc made")
        with path.open("rb") as fh:
            head = fh.read(len(SQLITE_HEADER))
    except (FileNotFoundError, NotADirectoryError):  # NotADirectoryError: a file where a folder is named
        _check_new_file(path)
        return False
    except OSError as exc:
        raise StoreError(f"cannot open the store {quoted_path(path)}: {exc.strerror or exc}") from None
    if head and head != SQLITE_HEADER:
        raise StoreError(f"cannot open the store {quoted_path(path)}: the file is not an SQLite database (it "
                         "does not begin as one), so bwc leaves it as it is; name a new file, or a store bwc made")
    return _check_sqlite_tables(path) if head else False


def _check_new_file(path: Path) -> None:
    """`path` names nothing yet: SQLite will create it, which it can only do in a folder that exists.
    Its own words for every reason are "unable to open database file": these say which."""
    where = f"cannot open the store {quoted_path(path)}"
    try:
        if path.is_symlink():  # the link is there, the file it names is not
            # SQLite would create the file at the link's target, a new, empty store where the link's
            # maker expected one (on a disk not mounted, say): the link is theirs to mend.
            raise StoreError(f"{where}: it is a symbolic link to {quoted_path(os.readlink(path))}, which does not "
                             "exist; point the link at a store bwc made, or name a new file")
        folder = path.parent
        if not folder.is_dir():
            if folder.exists():
                raise StoreError(f"{where}: {quoted_path(folder)} is not a folder, so no file can be made in it")
            raise StoreError(f"{where}: the folder {quoted_path(folder)} does not exist; create it first, or name a "
                             "file in a folder that exists")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise StoreError(f"{where}: the file does not exist, and this user may not create files in the folder "
                             f"{quoted_path(folder)}")
    except OSError as exc:
        raise StoreError(f"{where}: {exc.strerror or exc}") from None


def _sqlite_objects(path: Path, *, immutable: bool) -> list[tuple[str, str]]:
    """The (type, name) of every table, index, view and trigger of the SQLite database `path`, read-only.
    `immutable`: read the file alone, without locks and without creating the `-wal` and `-shm` files
    SQLite otherwise makes beside a WAL database (and leaves there after a read-only look)."""
    import sqlite3

    uri = path.absolute().as_uri() + ("?mode=ro&immutable=1" if immutable else "?mode=ro")
    db = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
    try:
        rows = db.execute("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
                          "ORDER BY type = 'table' DESC, rowid").fetchall()
    finally:
        db.close()
    return [(str(kind), str(name)) for kind, name in rows]


def _check_sqlite_tables(path: Path) -> bool:
    """The SQLite database `path` is empty (False) or a store bwc made (`_OURS`: True); anything else is
    refused, and so is a database SQLite cannot read, all before the store writes anything into or
    beside it."""
    import sqlite3

    where = f"cannot open the store {quoted_path(path)}"
    try:
        real = str(path.resolve())  # SQLite keeps its `-wal` and `-shm` beside the file a link names
        wal, index = Path(real + "-wal"), Path(real + "-shm")
        if wal.is_file() and index.is_file():
            # In WAL mode and likely in use (a server): what was written may be in the log alone, and
            # the file may change while it is read. Read as any reader does, through the log, under
            # SQLite's locks: both files are there, so nothing new is made beside it.
            objects = _sqlite_objects(path, immutable=False)
        else:
            objects = _sqlite_objects(path, immutable=True)
            if not objects and wal.is_file() and wal.stat().st_size > 0:
                # A log without its index (files copied, say): the tables may be in the log alone.
                # Reading it makes the `-shm` index any reader of that log would.
                objects = _sqlite_objects(path, immutable=False)
    except sqlite3.DatabaseError as exc:  # "file is not a database", "database disk image is malformed"
        raise StoreError(f"{where}: it begins as an SQLite database, but SQLite cannot read it ({exc}): it may be "
                         "damaged or cut short, so bwc leaves it as it is; name a new file, or a store bwc made "
                         "(from a backup)") from None
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"{where}: {getattr(exc, 'strerror', None) or exc}") from None
    names = {name for kind, name in objects if kind == "table"}
    if not objects or names >= _OURS:
        return bool(objects)
    shown = [name for _, name in objects[:5]]
    more = f" and {len(objects) - 5} more" if len(objects) > 5 else ""
    what = "tables" if names else "a schema"
    raise StoreError(f"{where}: it is an SQLite database bwc did not make, holding {what} of its own "
                     f"({', '.join('`' + quoted(name) + '`' for name in shown)}{more}), so bwc leaves it as it is; "
                     "name a new file, or a store bwc made")


def _postgres_url(url: str) -> URL:
    """The SQLAlchemy URL of a `postgresql://` (or `postgresql+psycopg://`) store URL, for psycopg 3."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    shown = quoted_path(without_password(url))
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise StoreError(f"`{shown}` is not a store URL: {_URL_HELP}") from None
    if parsed.drivername not in ("postgresql", "postgresql+psycopg"):
        raise StoreError(f"`{shown}`: PostgreSQL stores are reached with psycopg 3: write postgresql://...")
    if not parsed.database:
        raise StoreError(f"`{shown}` names no database: {_URL_HELP}")
    return parsed.set(drivername="postgresql+psycopg")


@functools.cache
def _sql(statement: str) -> TextClause:
    """One SQL statement, with `:name` parameters, as SQLAlchemy runs it on either database (made once)."""
    from sqlalchemy import text

    return text(statement)


def _insert(table: str, columns: tuple[str, ...], tail: str = "") -> TextClause:
    return _sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)}){tail}")


class Store:
    """The store at `url`: `sqlite:///FILE` or `postgresql://USER:PASSWORD@HOST:PORT/DATABASE`.

    SQLite: two connections, each shared by the service's threads under a lock of its own. Writes go
    through one (SQLite allows one writer at a time anyway, and a write is a few milliseconds) and begin
    with `BEGIN IMMEDIATE`, so a second process on the same file waits for its turn instead of failing.
    Reads go through the other, which never writes (`query_only`): in WAL mode a reader reads beside a
    writer, so a write waiting for another process's write lock holds up no read. PostgreSQL: a pool of
    connections, one per thread at work, and locks in the database (see the module's docstring)."""

    def __init__(self, url: str, *, existing: bool = False, read_only: bool = False) -> None:
        """`existing`: the store must be one bwc made already (what `bwc log verify` and `bwc replay`
        read): a missing or empty one is refused, not made, so a mistyped path is not an empty log.
        `read_only`: the store is only read (those commands again), so it may be an archived copy in a
        folder no one may write: SQLite's file is opened read-only with nothing made beside it, and
        the schema is never upgraded (a store at an older revision is refused, saying how to upgrade
        it). Any write then fails as the database refuses it."""
        self.url = url
        self.shown = without_password(url)  # what messages name
        self.path: Path | None = None  # the SQLite file; None on PostgreSQL
        self._file: tuple[int, int] | None = None  # SQLite: the file opened (device, inode), see `_same_file`
        # SQLite: its write-ahead log and shared-memory index as opened (path, device, inode), checked the same way
        self._beside: tuple[tuple[Path, tuple[int, int]], ...] = ()
        self.read_only = read_only
        self._lock: AbstractContextManager[Any]  # held around every write (and every read on PostgreSQL)
        self._read_lock: AbstractContextManager[Any]  # held around every read
        self._turn: _WriterTurn | None
        if url.startswith("sqlite:"):
            self.path = sqlite_path(url)
            self.shown = str(self.path)
            if not _check_sqlite_file(self.path) and existing:
                raise StoreError(_NO_STORE.format(quoted_path(self.path)))
            self._engine = _sqlite_engine(self.path, read_only=read_only)
            self._lock = threading.Lock()
            self._turn = None if read_only else _WriterTurn(self.path)  # its file is made beside the store
        elif url.startswith(("postgresql:", "postgresql+")):
            self._engine = _postgres_engine(_postgres_url(url), self.shown)
            self._lock = nullcontext()  # the pool gives each thread its own connection
            self._turn = None
        else:
            raise StoreError(f"`{quoted_path(self.shown)}` is not a store URL: {_URL_HELP}")
        # Reads go through the same engine until the store is open (and for good on PostgreSQL, whose pool
        # gives each thread a connection, and on a store opened read-only, which is never written).
        self._reader, self._read_lock = self._engine, self._lock
        self.postgres = self._engine.dialect.name == "postgresql"
        if self.postgres:
            self._check_postgres_schema(existing)
        try:
            if read_only:
                self._check_revision()
            else:
                self._migrate()
        except BaseException:
            if self._turn is not None:  # the first write made the writers' lock file: not left behind
                self._turn.discard()
            raise
        mark = "%s" if self.postgres else "?"  # the drivers' own parameter styles (psycopg, sqlite3)
        self._record_insert = (f"INSERT INTO decisions ({', '.join(_LOG_COLUMNS)}) "
                               f"VALUES ({', '.join(mark for _ in _LOG_COLUMNS)})")
        self._sqlite: Any = None  # SQLite's write connection, as its driver's object, for `_driver`
        if not self.postgres:
            assert self.path is not None
            with self._lock:
                fairy = self._engine.raw_connection()
                self._sqlite = fairy.driver_connection
                fairy.close()  # back to the pool, which keeps this one connection open (StaticPool)
            found = os.stat(self.path)
            self._file = (found.st_dev, found.st_ino)
            if not read_only:
                self._open_reader()
                # Made by now (the reader's first query opened them); SQLite keeps them beside the file a link names.
                real = self.path.resolve()
                beside = []
                for file in (real.with_name(real.name + "-wal"), real.with_name(real.name + "-shm")):
                    with contextlib.suppress(OSError):
                        found = os.stat(file)
                        beside.append((file, (found.st_dev, found.st_ino)))
                self._beside = tuple(beside)

    def _open_reader(self) -> None:
        """SQLite: open the readers' connection, now that the schema is made (it never writes, so it never
        migrates). A file missing by now is refused rather than made by it (`mode=rw`), and one replaced
        since the file opened was recorded (`_file`) is caught by `_same_file` after: reads and writes go
        to one file."""
        import sqlite3

        from sqlalchemy.exc import SQLAlchemyError

        assert self.path is not None
        reader = _sqlite_engine(self.path, reader=True)
        try:
            reader.raw_connection().close()  # back to its pool, which keeps it open (StaticPool)
            self._same_file()
        except (SQLAlchemyError, sqlite3.Error, StoreError) as exc:
            reader.dispose()
            self.close()
            why = str(exc) if isinstance(exc, StoreError) else self._reason(exc)
            raise StoreError(f"cannot open the store {quoted_path(self.shown)}: {why}") from None
        self._reader, self._read_lock = reader, threading.Lock()

    def _check_postgres_schema(self, existing: bool) -> None:
        """PostgreSQL: the schema bwc's tables go in (the first of the search path that exists, `public` by
        default) is empty or holds a store bwc made, as an SQLite file must be; anything else is refused
        before the migration writes into it. `existing`: an empty one is refused too (no store there)."""
        from sqlalchemy import inspect

        try:
            with self._session(doing="cannot open the store") as db:
                seen = inspect(db)
                schema = seen.default_schema_name
                tables = seen.get_table_names() if schema else []
                views = seen.get_view_names() if schema else []
        except StoreError:
            self._engine.dispose()
            raise
        problem: str | None = None
        if not schema:
            problem = (f"cannot open the store {quoted_path(self.shown)}: no schema of its search path exists, so "
                       "there is nowhere to make or find bwc's tables; create the schema first (CREATE SCHEMA ...)")
        elif not set(tables) >= _OURS and (tables or views):
            names = sorted([*tables, *views])
            more = f" and {len(names) - 5} more" if len(names) > 5 else ""
            problem = (f"cannot open the store {quoted_path(self.shown)}: its schema `{quoted(schema)}` holds tables "
                       f"bwc did not make ({', '.join('`' + quoted(n) + '`' for n in names[:5])}{more}), so bwc "
                       "leaves it as it is; give bwc a database of its own, or a schema of its own (create it, and "
                       "add ?options=-csearch_path%3DNAME to the URL)")
        elif existing and not tables:
            problem = _NO_STORE.format(quoted_path(self.shown))
        if problem is not None:
            self._engine.dispose()
            raise StoreError(problem)

    def _migrate(self) -> None:
        from alembic.util import CommandError

        from engine.service.migrations import UnknownRevision, upgrade

        try:
            with self._session(write=True, doing="cannot open the store") as db:
                if self.postgres:  # held until the migration commits: a second server waits, then finds it done
                    db.execute(_sql("SELECT pg_advisory_xact_lock(CAST(:key AS bigint))"), {"key": _MIGRATION_LOCK})
                upgrade(db)
        except UnknownRevision as exc:
            self._engine.dispose()
            raise StoreError(self._newer(exc.found, exc.newest)) from None
        except CommandError as exc:
            self._engine.dispose()
            raise StoreError(f"cannot open the store {quoted_path(self.shown)}: {exc}") from None
        except StoreError:
            self._engine.dispose()
            raise

    def _newer(self, found: str, newest: str) -> str:
        return (f"the store {quoted_path(self.shown)} has schema revision {quoted(found)}, which this bwc does not "
                f"know (its newest is {newest}): a newer bwc upgraded it; use that one")

    def _check_revision(self) -> None:
        """A store opened read-only is read at the schema revision it is at, which must be this bwc's
        newest: reading it at another could misread it, and upgrading it is a write (the commands that
        write upgrade it)."""
        from alembic.runtime.migration import MigrationContext

        from engine.service.migrations import scripts

        _, script = scripts()
        newest = script.get_current_head() or "(none)"
        try:
            with self._session(doing="cannot open the store") as db:
                found = MigrationContext.configure(db).get_current_heads()
        except StoreError:
            self._engine.dispose()
            raise
        if tuple(found) == (newest,):
            return
        self._engine.dispose()
        known = {rev.revision for rev in script.walk_revisions()}
        unknown = [rev for rev in found if rev not in known]
        if unknown:
            raise StoreError(self._newer(unknown[0], newest))
        at = ", ".join(quoted(rev) for rev in found) or "(none recorded)"
        raise StoreError(f"the store {quoted_path(self.shown)} has schema revision {at}, older than this bwc's "
                         f"({newest}), and this command only reads a store, so it does not upgrade it: open it once "
                         "with `bwc serve` or `bwc import` (which upgrade it; on a copy, if this one must stay as it "
                         "is), or read it with the bwc that made it")

    def close(self) -> None:
        with self._lock:
            self._engine.dispose()
            if self._turn is not None:
                self._turn.close()
        if self._reader is not self._engine:
            with self._read_lock:
                self._reader.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()  # a command's store is closed when it ends, not when the interpreter collects it

    def reachable(self) -> bool:
        return self.unready() is None

    def unready(self) -> str | None:
        """Why the service should not be sent requests now, in words an operator can act on, or None: the
        store cannot be read, or cannot take writes. The words name the store's files by their names
        alone, never the folder or the server they are on (/readyz answers anyone who asks). Cheap, for a
        readiness probe polled every few seconds: a few stat calls and one query on the readers'
        connection (so it never waits behind a write), and nothing written."""
        moved = self._moved()
        if moved is not None:
            assert self.path is not None
            return f"the store's file `{quoted(self.path.name)}` {moved}"
        if not self.read_only:
            why = self._unwritable()
            if why is not None:
                return why
        try:
            with self._session(doing="cannot reach the store") as db:
                if self.postgres and not self.read_only:
                    # on when the server takes no writes: a standby, or default_transaction_read_only
                    if db.execute(_sql("SELECT current_setting('transaction_read_only')")).scalar() == "on":
                        return ("the store cannot take writes: its database is read-only (a standby server, or "
                                "default_transaction_read_only is on); point the service at the primary server, "
                                "or make the database writable")
                else:
                    db.execute(_sql("SELECT 1")).fetchone()
        except StoreError:
            return "the store cannot be reached"
        return None

    def _unwritable(self) -> str | None:
        """SQLite: why this process could not write the store, or None. Its file, and the `-wal` and `-shm`
        files SQLite keeps beside it in WAL mode, must be writable: one that is not (its permissions, an
        immutable attribute, a disk mounted read-only) refuses writes, at once or once it is opened again
        (a worker started anew). The folder is not looked at: SQLite makes nothing in it while the store
        is open, as the `-wal` and `-shm` files are there then (the writers' lock file may not be made in
        a read-only folder, and writers then take turns without it)."""
        if self.path is None:
            return None
        real = self.path.resolve()  # SQLite keeps `-wal` and `-shm` beside the file a link names
        for file in (real, real.with_name(real.name + "-wal"), real.with_name(real.name + "-shm")):
            if not os.access(file, os.W_OK) and os.path.lexists(file):
                return (f"the store cannot take writes: this process may not write its file `{quoted(file.name)}` "
                        "(its permissions, an immutable attribute, or a disk mounted read-only); make it writable "
                        "by the user the service runs as")
        return None

    def _same_file(self) -> None:
        """SQLite: the store's file is still the one opened. Removed or replaced while the service runs (its
        folder deleted, a backup restored over it), the open connection would go on writing into a file
        no path names any more, and everything acknowledged since would be lost at the next start: such a
        write is refused instead (a stat, a microsecond beside the commit's flush to disk)."""
        moved = self._moved()
        if moved is not None:
            raise StoreError(f"the store {quoted_path(self.path)} {moved}")

    def _moved(self) -> str | None:
        """SQLite: how the store's file was removed or replaced since it was opened, in words that follow
        its name, or None while it is the file opened (and on PostgreSQL)."""
        if self._file is None or self.path is None:
            return None
        try:
            found = os.stat(self.path)
        except OSError as exc:
            return (f"was removed while in use ({exc.strerror}): nothing more is written into the file that was "
                    "opened, which no path names now; restart the service on a store that is there")
        if (found.st_dev, found.st_ino) != self._file:
            return ("was replaced by another file while in use: nothing more is written into the file that was "
                    "opened; restart the service to use the file there now")
        # SQLite removes these two files only when the last connection closes, and this one is open.
        for file, opened in self._beside:
            try:
                now = os.stat(file)
            except OSError:
                now = None
            if now is not None and (now.st_dev, now.st_ino) == opened:
                continue
            if file.name.endswith("-wal"):
                # The log holds the last commits until SQLite copies them into the file: removed (or replaced)
                # while open, it is in no file any more, and what it holds is lost when the service stops.
                return (f"lost its write-ahead log `{quoted(file.name)}` while in use (removed or replaced): the "
                        "commits it held since SQLite last copied it into the file are lost when the service "
                        "stops, and nothing more is written; stop the service, then check the log with "
                        "`bwc log verify`")
            # The index is where processes take their turns at the log (its locks are on this file): a worker
            # that opens the store now makes a new one, takes its locks there, and could write the log over
            # what this process writes.
            return (f"lost its shared-memory index `{quoted(file.name)}` while in use (removed or replaced): a "
                    "process that opens the store now would not take turns with this one, and their writes could "
                    "overwrite each other's; nothing more is written; stop every worker of the service, then check "
                    "the log with `bwc log verify`")
        return None

    # --- incidents and events ------------------------------------------------------------------------

    def create_incident(self, incident_id: str, policy: str, timezone: str, facts: Mapping[str, Any],
                        now: str) -> bool:
        """Record a new incident; True if created, False if the same one was there already. Raises
        Conflict when an incident of that id is there with another policy, time zone or facts."""
        facts_json = dumps_canonical(dict(facts))
        with self._session(write=True) as db:
            # ON CONFLICT: two servers creating the same incident at once both succeed, one of them
            # finding it there, instead of one failing on the primary key.
            added = db.execute(_insert("incidents", _INCIDENT_COLUMNS, " ON CONFLICT (incident_id) DO NOTHING"),
                               {"incident_id": incident_id, "policy": policy, "timezone": timezone,
                                "facts": facts_json, "created_at": now, "first_event_at": None}).rowcount
            if added:
                return True
            found = db.execute(_sql("SELECT policy, timezone, facts FROM incidents WHERE incident_id = :id"),
                               {"id": incident_id}).one()
            if tuple(found) != (policy, timezone, facts_json):
                raise Conflict(f"incident `{quoted(incident_id)}` exists with another policy, time zone "
                               "or facts; an incident's facts are fixed when it is created")
            return False

    def append_events(self, incident_id: str, events: list[tuple[str, dict[str, Any]]], now: str,
                      check: Callable[[StoredIncident, list[dict[str, Any]]], T]) -> tuple[int, T] | None:
        """Append events (each with the client's event id) in one transaction; an event id already
        stored for the incident is skipped if its event is the same (a retry), and refused (Conflict)
        if it differs. `check(stored, new)` is called inside the transaction, with the incident as
        stored and the events not stored yet, before anything is written: it raises to refuse them, and
        what it returns is returned with how many events were new. None when there is no such incident.

        The incident is locked from the read to the commit (its row on PostgreSQL; the write lock on
        SQLite), so a check always sees every event committed before, whichever process wrote them."""
        with self._session(write=True, lenient=True) as db:
            found = db.execute(_sql("SELECT policy, timezone, facts FROM incidents WHERE incident_id = :id"
                                    + (" FOR UPDATE" if self.postgres else "")), {"id": incident_id}).first()
            if found is None:
                return None
            rows = db.execute(_sql("SELECT seq, event_id, event FROM events WHERE incident_id = :id ORDER BY seq"),
                              {"id": incident_id}).all()
            stored = _read_incident((incident_id, *found), [(r[0], r[2]) for r in rows])
            if isinstance(stored, UnreadableIncident):  # nothing is added to an incident that cannot be read
                raise DamagedRow(stored.problem)
            stored_text = {r[1]: r[2] for r in rows}
            seq = rows[-1][0] if rows else 0
            new: list[tuple[str, dict[str, Any], str]] = []
            for event_id, event in events:
                text = dumps_canonical(event)
                before = stored_text.get(event_id)
                if before is not None:
                    if before != text:
                        raise Conflict(f"event `{quoted(event_id)}` of incident `{quoted(incident_id)}` was "
                                       "stored with other content; an event id names one event")
                    continue
                stored_text[event_id] = text
                new.append((event_id, event, text))
            result = check(stored, [e for _, e, _ in new])
            if new:
                db.execute(_insert("events", _EVENT_COLUMNS), [
                    {"incident_id": incident_id, "seq": seq + k + 1, "event_id": event_id, "event": text,
                     "received_at": now} for k, (event_id, _, text) in enumerate(new)])
                # the check read the events: each `at` is a time with its offset
                earliest = min(utc_text(e["at"]) for _, e, _ in new)
                db.execute(_sql("UPDATE incidents SET first_event_at = :t WHERE incident_id = :id AND "
                                "(first_event_at IS NULL OR first_event_at > :t)"), {"t": earliest, "id": incident_id})
        return len(new), result

    def incident(self, incident_id: str) -> StoredIncident | None:
        if _never_kept(incident_id):
            return None
        with self._session(lenient=True) as db:
            found = db.execute(_sql("SELECT policy, timezone, facts FROM incidents WHERE incident_id = :id"),
                               {"id": incident_id}).first()
            if found is None:
                return None
            rows = db.execute(_sql("SELECT seq, event FROM events WHERE incident_id = :id ORDER BY seq"),
                              {"id": incident_id}).all()
        stored = _read_incident((incident_id, *found), [tuple(r) for r in rows])
        if isinstance(stored, UnreadableIncident):
            raise DamagedRow(stored.problem)
        return stored

    def incidents(self, since: str | None = None, until: str | None = None,
                  batch: int = 500) -> Iterator[StoredIncident | UnreadableIncident]:
        """The stored incidents whose earliest event falls in [since, until) (UTC ISO text, as
        `utc_text` writes it; either end open when None), in that order; incidents with no event
        yet are left out. Read `batch` incidents at a time, with their events in one query, so memory
        stays bounded by `batch` and a replay does not pay a query per incident. An incident that
        cannot be read (changed behind bwc's back) comes as an UnreadableIncident saying why, and the
        others go on."""
        from sqlalchemy import bindparam

        after_time: Any = ""
        after_id: Any = ""
        period, args = _period("first_event_at", since, until)
        events_of = _sql("SELECT incident_id, seq, event FROM events WHERE incident_id IN :ids "
                         "ORDER BY incident_id, seq").bindparams(bindparam("ids", expanding=True))
        while True:
            with self._session(lenient=True) as db:
                rows = db.execute(_sql("SELECT incident_id, first_event_at, policy, timezone, facts FROM incidents "
                                       "WHERE first_event_at IS NOT NULL AND (first_event_at > :after_time OR "
                                       f"(first_event_at = :after_time AND incident_id > :after_id)){period} "
                                       "ORDER BY first_event_at, incident_id LIMIT :batch"),
                                  {**args, "after_time": after_time, "after_id": after_id, "batch": batch}).all()
                events: dict[Any, list[tuple[Any, Any]]] = {}
                if rows:
                    for incident_id, seq, event in db.execute(events_of, {"ids": [_bindable(r[0]) for r in rows]}):
                        events.setdefault(incident_id, []).append((seq, event))
            if not rows:
                return
            for incident_id, _, policy, timezone, facts in rows:
                yield _read_incident((incident_id, policy, timezone, facts), events.get(incident_id, []))
            after_time, after_id = _bindable(rows[-1][1]), _bindable(rows[-1][0])

    def add_incidents(self, incidents: list[StoredIncident], now: str) -> list[str]:
        """Store whole incidents (an import) in one transaction, each opened with its events, whose ids
        are `import:0`, `import:1`, ... in the order given. For each incident, in order: "added";
        "present" when the very same incident (policy, time zone, facts, events) is stored already; or
        why it was not stored: an incident of that id with other content is never changed."""
        outcomes: list[str] = []
        with self._session(write=True) as db:
            for inc in incidents:
                facts_json = dumps_canonical(inc.facts)
                texts = [dumps_canonical(e) for e in inc.events]
                added = db.execute(_insert("incidents", _INCIDENT_COLUMNS, " ON CONFLICT (incident_id) DO NOTHING"), {
                    "incident_id": inc.incident_id, "policy": inc.policy, "timezone": inc.timezone,
                    "facts": facts_json, "created_at": now,
                    "first_event_at": min((utc_text(e["at"]) for e in inc.events), default=None)}).rowcount
                if not added:
                    found = db.execute(_sql("SELECT policy, timezone, facts FROM incidents WHERE incident_id = :id"),
                                       {"id": inc.incident_id}).one()
                    stored = [r[0] for r in db.execute(_sql("SELECT event FROM events WHERE incident_id = :id "
                                                            "ORDER BY seq"), {"id": inc.incident_id})]
                    same = tuple(found) == (inc.policy, inc.timezone, facts_json) and stored == texts
                    outcomes.append("present" if same else f"incident `{quoted(inc.incident_id)}` is stored already "
                                    "with other content; a stored incident is never changed (append new events "
                                    "to it through the service)")
                    continue
                if texts:
                    db.execute(_insert("events", _EVENT_COLUMNS), [
                        {"incident_id": inc.incident_id, "seq": k + 1, "event_id": f"import:{k}", "event": text,
                         "received_at": now} for k, text in enumerate(texts)])
                outcomes.append("added")
        return outcomes

    def count_incidents(self, since: str | None = None, until: str | None = None) -> int:
        period, args = _period("first_event_at", since, until)
        with self._session() as db:
            return int(db.execute(_sql(f"SELECT COUNT(*) FROM incidents WHERE first_event_at IS NOT NULL{period}"),
                                  args).scalar_one())

    # --- ruleset versions loaded through the service -------------------------------------------------

    @contextmanager
    def loading(self) -> Iterator[RulesetLoad]:
        """One load of a ruleset version, as one transaction that no other load (of any process, any
        server on the database) runs beside: what was loaded meanwhile is read, checked with, and
        committed before the next load begins."""
        with self._session(write=True) as db:
            if self.postgres:  # the load order is numbered: one load at a time, across servers
                db.execute(_sql("SELECT pg_advisory_xact_lock(CAST(:key AS bigint))"), {"key": _RULESETS_LOCK})
            yield RulesetLoad(db)

    def add_ruleset(self, ruleset: str, version: str, digest: str, text: str, now: str) -> bool:
        """Keep a loaded ruleset version's text; True if new, False if that very text was there. Raises
        Conflict when the version is there with other content: a loaded version never changes."""
        with self.loading() as load:
            return load.add(ruleset, version, digest, text, now) is not None

    def rulesets(self, after: int = 0) -> list[tuple[int, str, str, str]]:
        """The loaded ruleset versions as (seq, id, version, text), in the order they were loaded; only
        those loaded after number `after` when given (what another process loaded since)."""
        with self._session() as db:
            return _rulesets_after(db, after)

    # --- the decision log ----------------------------------------------------------------------------

    def record(self, fields: Mapping[str, str]) -> LogEntry:
        """Append one decision to the log (fields: every column but seq, prev and hash)."""
        return self.record_many([fields])[0]

    def record_many(self, many: list[Mapping[str, str]]) -> list[LogEntry]:
        """Append decisions to the log, in order, in one transaction (one commit, one sync to disk).

        Every decision the service returns comes here, so this goes to the database driver directly
        (statements prepared once per connection by the driver) rather than through SQLAlchemy, whose
        connection and statement handling cost more than the rest of the write."""
        entries: list[LogEntry] = []
        with self._driver(doing="cannot record the decision in") as run:
            if self.postgres:  # held until commit: the next writer reads these entries as the last ones
                run("SELECT pg_advisory_xact_lock(%s)", (_LOG_LOCK,))
            last = run("SELECT seq, hash FROM decisions ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (int(last[0]), str(last[1])) if last is not None else (0, "")
            for fields in many:
                seq += 1
                entry: dict[str, Any] = {"seq": seq, **fields}
                row = {**entry, "prev": prev, "hash": entry_hash(prev, entry)}
                values = tuple(row[c] for c in _LOG_COLUMNS)
                run(self._record_insert, values)
                entries.append(LogEntry(*values))
                prev = row["hash"]
        return entries

    def entry(self, decision_id: str) -> LogEntry | None:
        """The first log entry of a decision id (the same inputs decided again give the same id)."""
        if _never_kept(decision_id):
            return None
        with self._session() as db:
            row = db.execute(_sql(f"SELECT {', '.join(_LOG_COLUMNS)} FROM decisions WHERE decision_id = :id "
                                  "ORDER BY seq LIMIT 1"), {"id": decision_id}).first()
        return LogEntry(*row) if row is not None else None

    def entries(self, since: str | None = None, until: str | None = None, batch: int = 500) -> Iterator[LogEntry]:
        """Log entries in order, optionally of a period of `recorded_at` (ISO text, [since, until)). An
        entry whose row holds values of the wrong type comes out all the same, shown as text and with
        its `problem` said, so that a reader (the log's export) goes on past it."""
        for row in self._log_rows(since, until, batch):
            yield _log_entry(row)

    def _log_rows(self, since: str | None = None, until: str | None = None,
                  batch: int = 500) -> Iterator[tuple[Any, ...]]:
        """The rows of `decisions` in order, as the database holds them: any value may be of any type
        (SQLite keeps whatever is written, and the triggers can be dropped), so nothing is assumed."""
        after: Any = 0
        period, args = _period("recorded_at", since, until)
        while True:
            with self._session(lenient=True) as db:
                rows = db.execute(_sql(f"SELECT {', '.join(_LOG_COLUMNS)} FROM decisions WHERE seq > :after"
                                       f"{period} ORDER BY seq LIMIT :batch"),
                                  {**args, "after": after, "batch": batch}).all()
            if not rows:
                return
            for row in rows:
                yield tuple(row)
            after = _bindable(rows[-1][0])

    def verify(self, head: str | None = None) -> Verification:
        """Walk the whole chain: every entry's values, hash and link, and no gap in the numbering. When
        `head` (a hash saved earlier) is given, it must be the hash of an entry of the chain: the
        newest, or one before it when the log has grown since it was saved (the service goes on
        recording); a head that is no entry's hash means entries were removed from the end, or it came
        from another log. The head is compared with each entry as the chain is walked, so memory stays
        bounded however long the log is; so is the list of problems (the first 100 are kept)."""
        problems: list[str] = []
        more = 0

        def problem(text: str) -> None:
            nonlocal more
            if len(problems) < 100:
                problems.append(text)
            else:
                more += 1

        wanted: str | None = None
        if head is not None:
            wanted = head.strip().lower()
            if not is_head(wanted):
                problem(f"the head given, `{quoted(head, 200)}`, is not a hash of the log: a head is 64 "
                        "hexadecimal digits, as `bwc log verify` prints it")
                wanted = None
        prev: str | None = ""  # the hash the next entry links to (None: the entry before holds no text there)
        expected_seq, count, newest, last_name = 1, 0, "", ""
        head_at: int | None = None
        head_count: int | None = None
        for row in self._log_rows():
            count += 1
            seq, decision_id, stored_prev, stored_hash = row[0], row[1], row[10], row[11]
            name = _entry_name(row)
            if type(decision_id) is str:
                name += f" (decision {quoted(decision_id)})"
            if type(seq) is int:  # a number of the wrong type is said below, with the entry's other values
                if seq > expected_seq:
                    problem(f"entry {expected_seq} is missing" if seq == expected_seq + 1
                            else f"entries {expected_seq} to {seq - 1} are missing")
                expected_seq = seq + 1
            if prev is not None and stored_prev != prev:
                problem(f"{name}: its link to the entry before does not match (an entry before it was edited, "
                        "removed or inserted)")
            wrong = _wrong_types(row, _LOG_COLUMNS, frozenset({"seq"}))
            if wrong:
                problem(f"{name}: {'; '.join(wrong)} ({_ALTERED})")
            elif entry_hash(stored_prev, dict(zip(_LOG_COLUMNS[:-2], row[:-2], strict=True))) != stored_hash:
                problem(f"{name}: its content does not match its hash (it was edited)")
            prev = stored_hash if type(stored_hash) is str else None
            newest, last_name = _shown(stored_hash), _entry_name(row)
            if wanted is not None and head_count is None and stored_hash == wanted:
                head_at, head_count = (seq if type(seq) is int else 0), count
        if wanted is not None and head_count is None:
            now = f"the newest entry now is {last_name}, of hash {newest}" if count else "the log is empty now"
            problem(f"the head saved earlier, {wanted}, is the hash of no entry of this log ({now}): entries were "
                    "removed from the end since it was saved, or it was saved from another log")
        if more:
            problems.append(f"... and {more:,} more problem(s)")
        return Verification(count, newest, problems, head_at,
                            count - head_count if head_count is not None else 0)

    # --- replay jobs ------------------------------------------------------------------------------------

    def add_replay(self, job: StoredReplay) -> None:
        with self._session(write=True) as db:
            db.execute(_insert("replays", _REPLAY_COLUMNS), job.row())

    def replay(self, job_id: str) -> StoredReplay | None:
        if _never_kept(job_id):
            return None
        with self._session() as db:
            row = db.execute(_sql(f"SELECT {', '.join(_REPLAY_COLUMNS)} FROM replays WHERE id = :id"),
                             {"id": job_id}).first()
        return StoredReplay(*row) if row is not None else None

    def replays(self, *, active: bool = False) -> list[StoredReplay]:
        """Every replay kept (without its report), oldest first; only the queued and running ones when
        `active`."""
        columns = ", ".join("NULL" if c == "report" else c for c in _REPLAY_COLUMNS)
        where = " WHERE state IN ('queued', 'running')" if active else ""
        with self._session() as db:
            rows = db.execute(_sql(f"SELECT {columns} FROM replays{where} ORDER BY requested_at, id")).all()
        return [StoredReplay(*r) for r in rows]

    def claim_replay(self, runner: str, host: str, pid: int, now: str) -> StoredReplay | None:
        """The oldest queued replay, now running in `runner`'s hands; None when there is none, or when
        a replay is running already (one at a time, whichever process or server runs it)."""
        with self._session(write=True) as db:
            if self.postgres:
                db.execute(_sql("SELECT pg_advisory_xact_lock(CAST(:key AS bigint))"), {"key": _REPLAYS_LOCK})
            if db.execute(_sql("SELECT 1 FROM replays WHERE state = 'running' LIMIT 1")).first() is not None:
                return None
            row = db.execute(_sql("SELECT id FROM replays WHERE state = 'queued' ORDER BY requested_at, id "
                                  "LIMIT 1")).first()
            if row is None:
                return None
            db.execute(_sql("UPDATE replays SET state = 'running', started_at = :now, heartbeat_at = :now, "
                            "runner = :runner, host = :host, pid = :pid WHERE id = :id"),
                       {"now": now, "runner": runner, "host": host, "pid": pid, "id": row[0]})
            found = db.execute(_sql(f"SELECT {', '.join(_REPLAY_COLUMNS)} FROM replays WHERE id = :id"),
                               {"id": row[0]}).one()
        return StoredReplay(*found)

    def replay_progress(self, job_id: str, runner: str, scanned: int, decided: int, now: str) -> None:
        """How far a running replay has got, from the process running it (which renews its heartbeat)."""
        with self._session(write=True) as db:
            db.execute(_sql("UPDATE replays SET scanned = :scanned, decided = :decided, heartbeat_at = :now "
                            "WHERE id = :id AND runner = :runner AND state = 'running'"),
                       {"scanned": scanned, "decided": decided, "now": now, "id": job_id, "runner": runner})

    def heartbeat(self, job_id: str, runner: str, now: str) -> None:
        with self._session(write=True) as db:
            db.execute(_sql("UPDATE replays SET heartbeat_at = :now WHERE id = :id AND runner = :runner "
                            "AND state = 'running'"), {"now": now, "id": job_id, "runner": runner})

    def finish_replay(self, job_id: str, runner: str | None, state: str, now: str, *, report: str | None = None,
                      error: str | None = None, seen: str | None = None, scanned: int | None = None,
                      decided: int | None = None, kept: int = 100) -> bool:
        """End a replay as `state` (done or failed), with its last `scanned` and `decided` counts, if it
        is still running in `runner`'s hands (any runner's, when None: a replay found interrupted, whose
        heartbeat is still `seen`). Keeps the newest `kept` finished replays and forgets older ones. True
        if this call ended it."""
        where: str = ""
        args: dict[str, Any] = {}
        if runner is not None:
            where, args = " AND runner = :runner", {"runner": runner}
        elif seen is not None:
            where, args = " AND heartbeat_at = :seen", {"seen": seen}
        with self._session(write=True) as db:
            counts = ""
            if scanned is not None and decided is not None:  # the last progress, which was not told yet
                counts = ", scanned = :scanned, decided = :decided"
                args = {**args, "scanned": scanned, "decided": decided}
            ended = db.execute(_sql("UPDATE replays SET state = :state, finished_at = :now, report = :report, "
                                    f"error = :error{counts} WHERE id = :id AND state IN ('queued', 'running')"
                                    + where),
                               {"state": state, "now": now, "report": report, "error": error, "id": job_id,
                                **args}).rowcount
            if ended:
                db.execute(_sql("DELETE FROM replays WHERE state IN ('done', 'failed') AND id NOT IN (SELECT id FROM "
                                "replays WHERE state IN ('done', 'failed') ORDER BY finished_at DESC, id DESC "
                                "LIMIT :kept)"), {"kept": kept})
        return bool(ended)

    # --- the one way in ----------------------------------------------------------------------------------

    @contextmanager
    def _session(self, *, write: bool = False, doing: str = "cannot use the store",
                 lenient: bool = False) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back on any error. A database error
        becomes a StoreError naming the store (without its password); Conflict passes through.
        `lenient`: SQLite text that is not UTF-8 is read as NotText instead of failing the query (for
        the readers that report a damaged row and go on: the log's walk, a replay)."""
        from sqlalchemy.exc import SQLAlchemyError

        # A read takes neither the write lock nor the writers' turn: on SQLite it has a connection of its own.
        engine, lock = (self._engine, self._lock) if write else (self._reader, self._read_lock)
        with lock, (self._turn if write and self._turn is not None else nullcontext()):
            if write:
                self._same_file()
            try:
                with engine.connect() as db:
                    db.execution_options(bwc_write=write)  # read by the SQLite begin hook: BEGIN IMMEDIATE
                    driver: Any = db.connection.driver_connection if lenient and not self.postgres else None
                    if driver is not None:  # SQLite's connection, used under its lock: no other thread sees this
                        driver.text_factory = _lenient_text
                    try:
                        with db.begin():
                            yield db
                    finally:
                        if driver is not None:
                            driver.text_factory = str
            except SQLAlchemyError as exc:
                raise StoreError(f"{doing} {quoted_path(self.shown)}: {self._reason(exc)}") from None

    @contextmanager
    def _driver(self, *, doing: str) -> Iterator[Callable[..., Any]]:
        """One write transaction on the database driver's own connection, for the hottest write (`record`):
        yields `run(sql, params)` (the driver's parameter style: `?` on SQLite, `%s` on PostgreSQL);
        committed when the block ends, rolled back on any error, which becomes a StoreError as in
        `_session`. On SQLite, the write connection SQLAlchemy uses, under the same lock: never both at once."""
        from sqlalchemy.exc import SQLAlchemyError

        errors: tuple[type[Exception], ...] = (SQLAlchemyError, *self._driver_errors())
        with self._lock, (self._turn if self._turn is not None else nullcontext()):
            self._same_file()
            try:
                if self.postgres:
                    fairy = self._engine.raw_connection()  # from the pool, checked as `_session`'s are
                    try:
                        cursor = fairy.cursor()
                        try:
                            yield cursor.execute
                            fairy.commit()
                        except BaseException:
                            fairy.rollback()
                            raise
                    finally:
                        fairy.close()
                else:
                    db = self._sqlite
                    db.execute("BEGIN IMMEDIATE")  # as `_session` begins a write
                    try:
                        yield db.execute
                        db.execute("COMMIT")
                    except BaseException:
                        if db.in_transaction:
                            db.execute("ROLLBACK")
                        raise
            except errors as exc:
                raise StoreError(f"{doing} {quoted_path(self.shown)}: {self._reason(exc)}") from None

    def _driver_errors(self) -> tuple[type[Exception], ...]:
        if self.postgres:
            import psycopg

            return (psycopg.Error,)
        import sqlite3

        return (sqlite3.Error,)

    def _reason(self, exc: Exception) -> str:
        """The database's own words, on one line, with the password taken out should they quote it."""
        from sqlalchemy.exc import DBAPIError

        cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        words = "; ".join(line.strip() for line in str(cause).splitlines() if line.strip()) or type(cause).__name__
        password = self._engine.url.password
        return words.replace(str(password), "***") if password else words


def _period(column: str, since: str | None, until: str | None) -> tuple[str, dict[str, str]]:
    """The SQL condition (to append after a WHERE clause) and parameters of [since, until) on `column`."""
    where, args = "", {}
    if since is not None:
        where += f" AND {column} >= :since"
        args["since"] = since
    if until is not None:
        where += f" AND {column} < :until"
        args["until"] = until
    return where, args


def _rulesets_after(db: Connection, after: int) -> list[tuple[int, str, str, str]]:
    rows = db.execute(_sql("SELECT seq, ruleset, version, text FROM rulesets WHERE seq > :after ORDER BY seq"),
                      {"after": after}).all()
    return [(int(r[0]), r[1], r[2], r[3]) for r in rows]


class RulesetLoad:
    """The transaction of one ruleset load (`Store.loading`)."""

    def __init__(self, db: Connection) -> None:
        self._db = db

    def after(self, seq: int) -> list[tuple[int, str, str, str]]:
        """The versions loaded after number `seq`, as (seq, id, version, text), in order."""
        return _rulesets_after(self._db, seq)

    def add(self, ruleset: str, version: str, digest: str, text: str, now: str) -> int | None:
        """Keep a version's text: its number in the load order, or None when that very text was there.
        Raises Conflict when the version is there with other content: a loaded version never changes."""
        db = self._db
        found = db.execute(_sql("SELECT digest FROM rulesets WHERE ruleset = :ruleset AND version = :version"),
                           {"ruleset": ruleset, "version": version}).first()
        if found is not None:
            if found[0] != digest:
                raise Conflict(f"`{quoted(ruleset)}@{quoted(version)}` was loaded before with other "
                               "content; a loaded version never changes")
            return None
        seq = int(db.execute(_sql("SELECT COALESCE(MAX(seq), 0) + 1 FROM rulesets")).scalar_one())
        db.execute(_insert("rulesets", _RULESET_COLUMNS), {"ruleset": ruleset, "version": version, "seq": seq,
                                                            "digest": digest, "text": text, "loaded_at": now})
        return seq


class _WriterTurn:
    """Writers to one SQLite file, in any process, take turns here before `BEGIN IMMEDIATE`: an
    exclusive flock(2) on a file beside the store (`FILE-writer`), which wakes the next writer as soon
    as the one before commits. Without it a writer that finds the file locked sleeps and retries (SQLite's
    busy handler: 1, 2, 5, 10, ... up to 100 ms at a time), which with two worker processes writing
    at a few hundred commits a second left some waiting for over a second. Where the file cannot be
    made (a read-only folder) or flock does not exist, writers rely on SQLite's own lock alone,
    correct but slower to hand over."""

    def __init__(self, path: Path) -> None:
        self.path = path.with_name(path.name + "-writer")
        self._fd: int | None = None
        self._tried = False
        self._made = False  # this object created the file (and may remove it: `discard`)

    def __enter__(self) -> None:
        if not self._tried:  # opened at the first write, in the process that writes (a worker)
            self._tried = True
            try:
                import fcntl  # POSIX only: without it, SQLite's own lock alone

                self._fd, self._made = self._open()
            except (ImportError, OSError):
                self._fd = None
        if self._fd is not None:
            import fcntl

            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            import fcntl

            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _open(self) -> tuple[int, bool]:
        """The lock file's descriptor, and whether this call created it (O_EXCL tells: never a guess)."""
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644), True
        except FileExistsError:
            return os.open(self.path, os.O_RDWR), False

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._fd, self._tried, self._made = None, False, False

    def discard(self) -> None:
        """Close, and remove the lock file if this object created it and it is still that file: a store
        that could not be opened leaves nothing beside it (a file someone else made is left alone).
        Another process that opened it meanwhile keeps a lock on a removed file, and the next one makes a
        new file: writers then take turns by SQLite's own lock, still correct, as where flock is missing."""
        fd, made = self._fd, self._made
        try:
            if fd is not None and made:
                mine = os.fstat(fd)
                found = os.stat(self.path, follow_symlinks=False)
                if (found.st_dev, found.st_ino) == (mine.st_dev, mine.st_ino):
                    os.unlink(self.path)
        except OSError:
            pass  # gone already, or the folder became read-only: nothing more can be done about it
        finally:
            self.close()


def _read_only_uri(path: Path) -> str:
    """The URI SQLite opens the store `path` read-only with. `immutable=1` (read the file alone, without
    locks or the `-shm` index, which SQLite would make beside it: impossible in a read-only folder)
    unless the file is in use: with its `-wal` log there, what was written may be in the log alone, so
    it is read through the log as any reader does (`_check_sqlite_tables` decides alike)."""
    real = str(path.resolve())
    wal = Path(real + "-wal")
    in_use = wal.is_file() and (Path(real + "-shm").is_file() or wal.stat().st_size > 0)
    return path.absolute().as_uri() + ("?mode=ro" if in_use else "?mode=ro&immutable=1")


def _sqlite_engine(path: Path, *, read_only: bool = False, reader: bool = False) -> Engine:
    """An engine on the SQLite file `path`: one connection (StaticPool), in WAL mode with
    `synchronous=FULL` and foreign keys on, where a transaction begins as the Store asks. `read_only`:
    opened read-only (`_read_only_uri`), its settings left as they are (changing them is a write).
    `reader`: the readers' connection beside the writers' one, on a store that one has opened and put in
    WAL mode (which the file keeps): opened without creating the file, and refusing every write
    (`query_only`), so that nothing but the writers' connection ever writes."""
    import sqlite3

    from sqlalchemy import URL, create_engine, event
    from sqlalchemy.pool import StaticPool

    # timeout: how long a write waits for another process's write to finish before it fails (a reader
    # waits only in the rare cases WAL makes one wait, e.g. another process in EXCLUSIVE locking mode).
    connect: dict[str, Any] = {"check_same_thread": False, "timeout": 30}
    if read_only or reader:
        uri = _read_only_uri(path) if read_only else path.absolute().as_uri() + "?mode=rw"
        engine = create_engine("sqlite://", poolclass=StaticPool,
                               creator=lambda: sqlite3.connect(uri, uri=True, **connect))
    else:
        engine = create_engine(URL.create("sqlite", database=str(path)), poolclass=StaticPool, connect_args=connect)
    pragmas = (() if read_only else ("query_only=ON",) if reader else
               ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"))

    @event.listens_for(engine, "connect")
    def _settings(dbapi: Any, _record: Any) -> None:
        # The driver's own transaction handling off: it would begin transactions late and deferred;
        # `_begin` below begins them.
        dbapi.isolation_level = None
        for pragma in pragmas:
            dbapi.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _begin(db: Connection) -> None:
        # A write takes the write lock at once: the log's last hash, read in the transaction, is still
        # the last when the entry after it is written, even with another process on the same file.
        db.exec_driver_sql("BEGIN IMMEDIATE" if db.get_execution_options().get("bwc_write") else "BEGIN")

    return engine


def _postgres_engine(url: URL, shown: str) -> Engine:
    from sqlalchemy import create_engine

    # synchronous_commit=on: a commit returns once it is on the server's disk, whatever the server's
    # default or the URL say (added after the URL's own `options`, such as a search path, which are kept).
    given = url.query.get("options")
    options = [*((given,) if isinstance(given, str) else given or ()), "-c synchronous_commit=on"]
    connect: dict[str, Any] = {"connect_timeout": 10, "application_name": "bwc"}
    connect = {key: value for key, value in connect.items() if key not in url.query}  # the URL's own win
    try:
        # pool_pre_ping: a connection the server dropped (a restart) is replaced, not used.
        return create_engine(url, pool_pre_ping=True, connect_args={**connect, "options": " ".join(options)})
    except ImportError:
        raise StoreError(f"the store {quoted_path(shown)} is PostgreSQL, which needs psycopg: "
                         "pip install 'bwc-policy[postgres]'") from None
