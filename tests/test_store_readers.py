"""SQLite reads beside writes, and what /readyz says of a store that cannot take writes. Each test
reproduces a problem a hostile-input sweep found:

- another process held SQLite's write lock for 40 s (a `sqlite3` shell in `BEGIN EXCLUSIVE`); a write
  waited for it while holding the store's one connection, and every read of that server process waited
  behind the write (`GET /v1/rulesets` took 28.6 s), though WAL lets readers read beside a writer;
- /readyz answered "ready" for a store whose files this process may not write (the service then
  answered 503 to every write, or a worker started again could not open the store).

The tests order events rather than time them: the write is known to be blocked (it holds the writers'
turn, `FILE-writer`, and the other connection holds SQLite's write lock), then a read must finish while
the write still waits; the 10-second waits only keep a failing test from hanging."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_service import ADMIN, CO, INCIDENT, READ, ROOT, WRITE

from engine.cli.options import load_library
from engine.service.app import create_app
from engine.service.store import Store
from engine.service.tokens import Token, Tokens

TOKENS = Tokens([Token("r", "read", READ), Token("w", "write", WRITE), Token("a", "admin", ADMIN)])
NOW = "2024-01-17T21:04:00+00:00"
GUARD = 10.0  # seconds: only how long a failing test waits before it fails, never a measure


@pytest.fixture(scope="module")
def library() -> Any:
    return load_library((ROOT / "rulesets",))


def _url(folder: Path) -> str:
    return f"sqlite:///{folder / 'bwc.db'}"


@contextmanager
def _write_lock_held(path: Path) -> Iterator[None]:
    """Another connection (another program, as far as the store can tell) holds SQLite's write lock on
    `path` until the block ends, as `BEGIN EXCLUSIVE` in a `sqlite3` shell does."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        other.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()


def _wait_until_blocked(path: Path, writing: threading.Thread) -> None:
    """Return once the write running in `writing` holds the writers' turn (the flock on `FILE-writer`,
    taken just before `BEGIN IMMEDIATE`), so it waits for SQLite's write lock, which the test holds."""
    turn = os.open(str(path) + "-writer", os.O_RDWR)
    try:
        done = threading.Event()
        while not done.wait(0.01):
            assert writing.is_alive(), "the write ended although the write lock was held"
            try:
                fcntl.flock(turn, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # the write holds its turn
            fcntl.flock(turn, fcntl.LOCK_UN)  # the write has not taken it yet: let it
    finally:
        os.close(turn)


def _in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = work()
        except BaseException as exc:  # given to the test, which says what failed
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def _reads_beside_a_blocked_write(path: Path, write: Callable[[], Any], read: Callable[[], Any]) -> tuple[Any, Any]:
    """Run `write` while another connection holds the write lock and, once it is blocked, `read`: the
    read must finish while the write still waits. Returns what each returned, the lock released."""
    with _write_lock_held(path):
        writing, wrote = _in_thread(write)
        _wait_until_blocked(path, writing)
        reading, got = _in_thread(read)
        reading.join(GUARD)
        read_waited, write_waited = reading.is_alive(), writing.is_alive()
    # The lock released, both end before anything is asserted: a failing test leaves no request running.
    for thread in (writing, reading):
        thread.join(GUARD)
    assert not read_waited, "the read waited behind a write blocked by another process's write lock"
    assert write_waited, "the write did not wait for the write lock: the test proves nothing"
    assert not writing.is_alive() and not reading.is_alive()
    for out in (got, wrote):
        if "error" in out:
            raise out["error"]
    return wrote["value"], got["value"]


def test_a_read_does_not_wait_behind_a_write_blocked_by_another_process(tmp_path: Path) -> None:
    with Store(_url(tmp_path)) as store:
        store.create_incident("I-0", CO, INCIDENT["timezone"], INCIDENT["facts"], NOW)

        def read() -> Any:
            return store.incident("I-0"), [r[1] for r in store.rulesets()], list(store.entries()), store.reachable()

        created, (found, rulesets, entries, reachable) = _reads_beside_a_blocked_write(
            tmp_path / "bwc.db", lambda: store.create_incident("I-1", CO, INCIDENT["timezone"], {}, NOW), read)
        assert created is True and found is not None and found.incident_id == "I-0"
        assert rulesets == [] and entries == [] and reachable
        assert store.incident("I-1") is not None  # the write was kept, once it had its turn


def test_the_service_answers_reads_while_a_write_waits_for_the_write_lock(tmp_path: Path, library: Any) -> None:
    with Store(_url(tmp_path)) as store, TestClient(create_app(library, store, TOKENS, replay_workers=1)) as client:
        def opened(incident_id: str) -> Any:
            return client.put(f"/v1/incidents/{incident_id}", headers={"Authorization": f"Bearer {WRITE}"},
                              json={"policy": CO, "timezone": INCIDENT["timezone"], "facts": {}})

        read_token = {"Authorization": f"Bearer {READ}"}
        decided = client.post("/v1/decide", headers=read_token, json={"policy": CO, "incident": INCIDENT})
        assert decided.status_code == 200, decided.text
        decision_id = decided.json()["decision_id"]

        def read() -> list[Any]:
            return [client.get(path, headers=read_token) for path in (
                "/v1/rulesets", f"/v1/decisions/{decision_id}", "/v1/decisions", "/v1/replays", "/readyz")]

        put, answers = _reads_beside_a_blocked_write(tmp_path / "bwc.db", lambda: opened("I-1"), read)
        assert [r.status_code for r in answers] == [200] * 5, [r.text for r in answers]
        assert answers[1].json()["decision_id"] == decision_id and len(answers[2].text.splitlines()) == 1
        assert answers[4].json()["status"] == "ready"  # a write waiting for its turn is no store out of order
        assert put.status_code == 201, put.text


# --- /readyz and a store that cannot take writes -----------------------------------------------------------


def _readiness(folder: Path, library: Any) -> list[list[Any]]:
    """/readyz's status and detail with each of the store's files made read-only in turn (then writable
    again), with its folder read-only, and at last with everything writable again."""
    seen: list[list[Any]] = []
    with Store(_url(folder)) as store, TestClient(create_app(library, store, TOKENS, replay_workers=1)) as client:
        for name in ("bwc.db", "bwc.db-wal", "bwc.db-shm", "."):
            target = folder / name
            mode = target.stat().st_mode
            target.chmod(0o555 if name == "." else 0o444)
            try:
                answer = client.get("/readyz")
            finally:
                target.chmod(mode)
            seen.append([name, answer.status_code, answer.json().get("detail", ""),
                         answer.headers["content-type"]])
        answer = client.get("/readyz")
        seen.append(["", answer.status_code, answer.json().get("detail", ""), answer.headers["content-type"]])
    return seen


def _check_readiness(seen: list[list[Any]], folder: Path) -> None:
    by_name = {name: (status, detail, kind) for name, status, detail, kind in seen}
    for name in ("bwc.db", "bwc.db-wal", "bwc.db-shm"):
        status, detail, kind = by_name[name]
        assert status == 503 and kind == "application/problem+json", (name, status, detail)
        assert "cannot take writes" in detail and f"`{name}`" in detail and str(folder) not in detail, detail
    # A read-only folder stops no write while the `-wal` and `-shm` files are there (SQLite makes
    # nothing else in it), and they are while the store is open: ready.
    assert by_name["."][0] == 200, by_name["."]
    assert by_name[""][0] == 200, by_name[""]


def test_readyz_says_a_store_whose_files_cannot_be_written_is_not_ready(tmp_path: Path, library: Any) -> None:
    if os.geteuid() == 0:
        pytest.skip("run as root, permission bits stop no write (the test below runs this one without the "
                    "capability that lets root write anything)")
    _check_readiness(_readiness(tmp_path, library), tmp_path)


def test_readyz_says_a_store_whose_files_cannot_be_written_is_not_ready_as_root(tmp_path: Path) -> None:
    """As root, in a process without CAP_DAC_OVERRIDE (`setpriv`), where permission bits apply to root too."""
    if os.geteuid() != 0:
        pytest.skip("not root: the test above checks the same in this process")
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("run as root without setpriv(1), which the test needs to drop the capability that lets root "
                    "write anything")
    drop = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--"]
    probe = subprocess.run([*drop, sys.executable, "-c", "pass"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"run as root where setpriv cannot drop capabilities: {probe.stderr.decode().strip()}")
    script = ("import json, sys; from pathlib import Path; import test_store_readers as t; "
              "print(json.dumps(t._readiness(Path(sys.argv[1]), t.load_library((t.ROOT / 'rulesets',)))))")
    done = subprocess.run([*drop, sys.executable, "-c", script, str(tmp_path)], capture_output=True, check=False,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT / "tests")}, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    _check_readiness(json.loads(done.stdout.decode().splitlines()[-1]), tmp_path)


def test_readyz_says_a_read_only_postgres_database_is_not_ready() -> None:
    """A database that takes no writes (a standby after a failover, `default_transaction_read_only`)
    answered "ready" while every write failed."""
    from test_service import _database, postgres_database

    with postgres_database() as url:
        store = Store(url)
        try:
            assert store.unready() is None
            name = url.rsplit("/", 1)[1]
            with _database(url).connect() as db:
                db.exec_driver_sql(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
                db.commit()
            store._engine.dispose()  # the pool's connections made anew, as after a failover
            why = store.unready()
            assert why is not None and "read-only" in why and name not in why, why
        finally:
            store.close()


@pytest.mark.parametrize("how", ["removed", "replaced"])
@pytest.mark.parametrize(("suffix", "said"), [("-wal", "write-ahead log"), ("-shm", "shared-memory index")])
def test_a_file_beside_the_store_removed_while_in_use_stops_writes(tmp_path: Path, library: Any, how: str,
                                                                   suffix: str, said: str) -> None:
    """The write-ahead log holds the last commits until SQLite copies them into the file: removed while the
    service ran, writes went on into a file no path names, to be lost when the service stopped, and /readyz
    said ready. The shared-memory index is where the service's workers take turns at the log: removed, a
    worker started afterwards made a new one and took its locks there, apart from the others'."""
    from engine.service.store import StoreError

    with Store(_url(tmp_path)) as store, TestClient(create_app(library, store, TOKENS, replay_workers=1)) as client:
        assert store.create_incident("I-0", CO, INCIDENT["timezone"], {}, NOW)
        assert client.get("/readyz").status_code == 200
        beside = tmp_path / f"bwc.db{suffix}"
        if how == "removed":
            beside.unlink()
        else:
            shutil.copyfile(beside, tmp_path / "copy")
            os.replace(tmp_path / "copy", beside)
        name = re.escape(beside.name)
        with pytest.raises(StoreError, match=rf"lost its {said} `{name}` while in use"):
            store.create_incident("I-1", CO, INCIDENT["timezone"], {}, NOW)
        ready = client.get("/readyz")
        assert ready.status_code == 503 and f"{said} `{beside.name}`" in ready.json()["detail"]
        assert str(tmp_path) not in ready.json()["detail"]
        put = client.put("/v1/incidents/I-2", headers={"Authorization": f"Bearer {WRITE}"},
                         json={"policy": CO, "timezone": INCIDENT["timezone"], "facts": {}})
        assert put.status_code == 503, put.text
