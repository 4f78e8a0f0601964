"""The store read back when it was altered or archived: `bwc log verify` against a head saved while the
log grew, a decision log or incidents damaged behind the triggers' back (values of the wrong type, text
that is not JSON), and a store kept where it cannot be written. Each is reported in plain words naming
the entry or incident at fault, never with a traceback, and what can be read still is."""

from __future__ import annotations

import json
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import test_service
from cli_runner import run_cli
from test_service import CO, INCIDENT, ROOT, _around_trigger, _database

from engine.service.store import Store, StoreError

store_url = test_service.store_url  # each test that asks for it runs on SQLite and on PostgreSQL

NOW = "2026-01-01T00:00:00+00:00"


def _fields(k: int) -> dict[str, str]:
    return {"decision_id": f"D-{k}", "incident_id": f"I-{k}", "ruleset": CO, "version": "2021.2.0",
            "digest": "d" * 64, "input_digest": "e" * 64, "as_of": NOW, "recorded_at": NOW,
            "decision": json.dumps({"k": k})}


def _log(url: str, n: int) -> str:
    """Record `n` decisions in the store at `url`: the head (the newest entry's hash)."""
    with Store(url) as store:
        entries = store.record_many([_fields(k) for k in range(n)])
    return entries[-1].hash


def _verify(url: str, *args: str) -> tuple[int, str, str]:
    return run_cli(["log", "verify", "--store", url, *args])


def _no_internals(text: str) -> None:
    assert "Traceback" not in text and "internal error" not in text and str(ROOT / "engine") not in text, text


# --- the head saved while the log grows ---------------------------------------------------------------------


def test_a_head_saved_earlier_passes_once_the_log_has_grown(store_url: str) -> None:
    head = _log(store_url, 3)
    code, out, err = _verify(store_url, "--head", head)
    assert code == 0 and f"head {head}" in out, err
    with Store(store_url) as store:  # the service went on deciding after the head was saved
        store.record_many([_fields(k) for k in range(3, 5)])
        result = store.verify(head)
    assert result.ok and result.entries == 5 and result.head != head, result.problems
    assert result.head_at == 3 and result.added_since_head == 2
    code, out, err = _verify(store_url, "--head", head)
    assert code == 0, err
    assert "5 entries, the chain holds" in out and f"{head} (entry 3)" in out and "2 entries were added" in out


def test_a_head_that_is_no_entry_of_the_chain_fails_and_is_shown_whole(store_url: str) -> None:
    _log(store_url, 3)
    other = "ab" * 32  # a hash, but of no entry here (another log's head)
    code, _, err = _verify(store_url, "--head", other)
    assert code == 1 and other in err and "…" not in err and "no entry" in err and "removed from the end" in err
    _no_internals(err)
    with Store(store_url) as store:
        result = store.verify(other)
    assert not result.ok and result.head_at is None and any(other in p for p in result.problems)
    code, _, err = _verify(store_url, "--head", "not a hash")  # the command line's mistake, not the log's
    assert code == 2 and "not a hash" in err and "64 hexadecimal digits" in err and "altered" not in err


def test_a_head_whose_entries_were_removed_from_the_end_fails(store_url: str) -> None:
    head = _log(store_url, 4)
    with _database(store_url).connect() as db:
        _around_trigger(db, "decisions_append_only_d")
        db.execute(sa.text("DELETE FROM decisions WHERE seq >= 3"))
        db.commit()
    code, _, err = _verify(store_url)
    assert code == 0  # a shorter chain is a valid chain ...
    code, _, err = _verify(store_url, "--head", head)
    assert code == 1 and head in err and "removed from the end" in err  # ... but not the one whose head was saved


def test_the_head_is_found_without_holding_every_hash(store_url: str) -> None:
    """The saved head is compared with each entry as the chain is walked, in batches: found in the
    first batch of many, and in the last."""
    with Store(store_url) as store:
        first = store.record_many([_fields(k) for k in range(5)])
        last = store.record_many([_fields(k) for k in range(5, 1200)])
        for head, at in ((first[0].hash, 1), (last[-1].hash, 1200), (last[600].hash, 606)):
            result = store.verify(head)
            assert result.ok and result.head_at == at and result.added_since_head == 1200 - at, result.problems


# --- a decision log damaged behind the triggers' back ---------------------------------------------------------


def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bwc.db'}"


@pytest.mark.parametrize(("change", "words"), [
    ("UPDATE decisions SET decision_id = X'FFFE' WHERE seq = 3", "`decision_id` is binary data"),
    ("UPDATE decisions SET hash = X'FFFE' WHERE seq = 3", "`hash` is binary data"),
    ("UPDATE decisions SET recorded_at = X'' WHERE seq = 3", "`recorded_at` is binary data (a BLOB: empty)"),
    ("UPDATE decisions SET decision_id = CAST(X'FFFE' AS TEXT) WHERE seq = 3", "`decision_id` is not UTF-8 text"),
    ("UPDATE decisions SET seq = 'abc' WHERE seq = 3", "`seq` is text"),
    ("UPDATE decisions SET seq = 3.5 WHERE seq = 3", "`seq` is a number"),
])
def test_an_entry_of_the_wrong_type_is_reported_not_a_crash(tmp_path: Path, change: str, words: str) -> None:
    """SQLite keeps a value of any type in any column (a number written in a text column becomes text,
    but a BLOB stays one): someone who drops the triggers can leave a BLOB or bytes that are not UTF-8
    where text is, or text where the entry's number is. (PostgreSQL refuses such a value.)"""
    url = _sqlite_url(tmp_path)
    _log(url, 5)
    with _database(url).connect() as db:
        _around_trigger(db, "decisions_append_only_u")
        db.execute(sa.text(change))
        db.commit()
    code, out, err = _verify(url)
    _no_internals(err)
    assert code == 1 and out == "" and words in err and "was altered" in err, err
    assert "entry 3" in err or "'abc'" in err or "3.5" in err, err
    with Store(url, existing=True) as store:
        result = store.verify()
    assert not result.ok and result.entries == 5 and any(words in p for p in result.problems), result.problems


def test_the_log_export_reads_over_a_damaged_entry(tmp_path: Path) -> None:
    """`GET /v1/decisions` streams `Store.entries`: a damaged entry comes out as the store holds it, in
    words where it is no text, rather than cutting the answer short halfway."""
    url = _sqlite_url(tmp_path)
    _log(url, 5)
    with _database(url).connect() as db:
        _around_trigger(db, "decisions_append_only_u")
        db.execute(sa.text("UPDATE decisions SET decision_id = X'FFFE', seq = 'abc' WHERE seq = 3"))
        db.commit()
    with Store(url, existing=True) as store:
        entries = list(store.entries())
    assert [e.seq for e in entries] == [1, 2, 4, 5, 0]  # SQLite orders text after every number
    assert [e.problem for e in entries[:4]] == [None] * 4
    damaged = entries[-1]
    assert damaged.decision_id == "x'fffe'"
    assert all(isinstance(v, str) for k, v in damaged.to_dict().items() if k != "seq")
    assert damaged.problem is not None and "`seq` is text ('abc')" in damaged.problem
    assert "`decision_id` is binary data" in damaged.problem
    assert json.loads(json.dumps(damaged.to_dict()))["problem"] == damaged.problem  # what the export writes


# --- incidents damaged behind the triggers' back: replay reports them and goes on ------------------------------


def _incidents(url: str, n: int) -> None:
    with Store(url) as store:
        for k in range(n):
            iid = f"I-{k}"
            store.create_incident(iid, CO, INCIDENT["timezone"], INCIDENT["facts"], NOW)
            events = [(str(j), e) for j, e in enumerate(INCIDENT["events"])]
            store.append_events(iid, events, NOW, lambda stored, new: None)


@pytest.mark.parametrize(("table", "change", "words"), [
    ("events", "UPDATE events SET event = 'not json' WHERE incident_id = 'I-1' AND seq = 2", "event 2 is not JSON"),
    ("incidents", "UPDATE incidents SET facts = '{\"assignment\": ' WHERE incident_id = 'I-1'", "facts are not JSON"),
    ("incidents", "UPDATE incidents SET facts = '[1, 2]' WHERE incident_id = 'I-1'", "facts are not a JSON object"),
    ("events", "UPDATE events SET event = '17' WHERE incident_id = 'I-1' AND seq = 2", "event 2 is not a JSON object"),
])
def test_replay_reports_an_unreadable_incident_and_goes_on(store_url: str, table: str, change: str,
                                                          words: str) -> None:
    _incidents(store_url, 3)
    with _database(store_url).connect() as db:
        if db.dialect.name == "sqlite":  # events are append-only; an incident's row is not (its first event)
            db.execute(sa.text(f"DROP TRIGGER IF EXISTS {table}_append_only_u"))
        else:
            db.execute(sa.text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        db.execute(sa.text(change))
        db.commit()
    code, out, err = run_cli(["replay", "--rulesets", str(ROOT / "rulesets"), "--store", store_url,
                              f"{CO}@2021.2.0", "--format", "json", "--workers", "1"])
    _no_internals(err)
    assert code == 1, err
    report = json.loads(out)
    assert report["incidents"] == 2, report  # the two others were replayed
    bad = report["bad_lines"]
    assert len(bad) == 1 and bad[0]["incident"] == "I-1" and "I-1" in bad[0]["message"], bad
    assert words in bad[0]["message"], bad


def test_replay_reports_an_incident_of_the_wrong_type(tmp_path: Path) -> None:
    url = _sqlite_url(tmp_path)
    _incidents(url, 3)
    with _database(url).connect() as db:
        db.execute(sa.text("UPDATE incidents SET timezone = X'FFFE' WHERE incident_id = 'I-2'"))
        db.execute(sa.text("DROP TRIGGER IF EXISTS events_append_only_u"))
        db.execute(sa.text("UPDATE events SET event = CAST(X'FFFE' AS TEXT) WHERE incident_id = 'I-0' AND seq = 1"))
        db.commit()
    code, out, err = run_cli(["replay", "--rulesets", str(ROOT / "rulesets"), "--store", url, f"{CO}@2021.2.0",
                              "--format", "json", "--workers", "1"])
    _no_internals(err)
    assert code == 1, err
    report = json.loads(out)
    assert report["incidents"] == 1, report
    messages = {b["incident"]: b["message"] for b in report["bad_lines"]}
    assert "`timezone` is binary data" in messages["I-2"] and "event 1 is not UTF-8 text" in messages["I-0"], messages


# --- a store kept where it cannot be written --------------------------------------------------------------------


@pytest.fixture()
def archived(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A store copied into a folder this user may not write, its file read-only too, as an archive is.
    (Run as root, the permissions stop nothing: what is checked then is that reading the store made
    nothing beside it and changed nothing in it, which is what a read-only folder requires.)"""
    made = tmp_path / "made"
    made.mkdir()
    url = _sqlite_url(made)
    head = _log(url, 3)
    _incidents(url, 2)
    folder = tmp_path / "archive"
    folder.mkdir()
    shutil.copy(made / "bwc.db", folder / "bwc.db")
    (folder / "bwc.db").chmod(stat.S_IRUSR | stat.S_IRGRP)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        yield folder, head
    finally:
        folder.chmod(stat.S_IRWXU)


def _as_archived(folder: Path) -> tuple[list[str], bytes]:
    return sorted(p.name for p in folder.iterdir()), (folder / "bwc.db").read_bytes()


def test_log_verify_reads_a_store_in_a_read_only_folder(archived: tuple[Path, str]) -> None:
    folder, head = archived
    before = _as_archived(folder)
    code, out, err = _verify(f"sqlite:///{folder / 'bwc.db'}", "--head", head)
    assert code == 0 and "3 entries, the chain holds" in out, err
    assert _as_archived(folder) == before and before[0] == ["bwc.db"]


def test_replay_reads_a_store_in_a_read_only_folder(archived: tuple[Path, str]) -> None:
    folder, _ = archived
    before = _as_archived(folder)
    code, out, err = run_cli(["replay", "--rulesets", str(ROOT / "rulesets"), "--store",
                              f"sqlite:///{folder / 'bwc.db'}", f"{CO}@2021.2.0", "--format", "json",
                              "--workers", "1"])
    assert code == 0, err
    assert json.loads(out)["incidents"] == 2
    assert _as_archived(folder) == before


def test_a_store_at_an_older_revision_is_read_as_it_is_or_refused_in_plain_words(tmp_path: Path) -> None:
    """Reading commands never upgrade a store (it may be an archive, or one a running server keeps):
    one at an older revision is refused, saying how to upgrade it, and left as it was."""
    url = _sqlite_url(tmp_path)
    _log(url, 1)
    with _database(url).connect() as db:  # as a bwc of the first revision left it
        db.execute(sa.text("DROP TABLE replays"))
        db.execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
        db.commit()
    before = _as_archived(tmp_path)
    for argv in (["log", "verify", "--store", url],
                 ["replay", "--rulesets", str(ROOT / "rulesets"), "--store", url, f"{CO}@2021.2.0"]):
        code, out, err = run_cli(argv)
        _no_internals(err)
        assert code == 1 and out == "" and "revision 0001" in err and "bwc serve" in err and "upgrade" in err, err
    assert _as_archived(tmp_path) == before
    Store(url).close()  # as `bwc serve` opens it: upgraded
    code, out, err = _verify(url)
    assert code == 0 and "1 entries, the chain holds" in out, err


# --- the store's file removed or replaced while in use ---------------------------------------------------------


@pytest.mark.parametrize("how", ["removed", "replaced"])
def test_a_store_file_removed_or_replaced_while_in_use_takes_no_more_writes(tmp_path: Path, how: str) -> None:
    """The service went on answering 200 into a file whose folder had been deleted (and /readyz said
    ready): everything acknowledged since was lost at the next start."""
    folder = tmp_path / "store"
    folder.mkdir()
    with Store(f"sqlite:///{folder / 'bwc.db'}") as store:
        _incidents_in(store, 1)
        assert store.reachable()
        if how == "removed":
            shutil.rmtree(folder)
        else:
            (folder / "bwc.db").rename(folder / "old.db")
            shutil.copy(folder / "old.db", folder / "bwc.db")
        assert not store.reachable()
        with pytest.raises(StoreError, match=f"was {how}"):
            _incidents_in(store, 2)
        with pytest.raises(StoreError, match=f"was {how}"):
            store.record_many([_fields(9)])
    if how == "replaced":
        with Store(f"sqlite:///{folder / 'bwc.db'}") as again:  # a new start uses the file there now
            assert again.reachable() and again.incident("I-1") is None and again.incident("I-0") is not None


def _incidents_in(store: Store, n: int) -> None:
    for k in range(n):
        store.create_incident(f"I-{k}", CO, INCIDENT["timezone"], INCIDENT["facts"], NOW)
