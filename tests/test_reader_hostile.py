"""The one incident reader (engine/io/export.py, engine/io/jsondoc.py, engine/io/incident.py) against hostile
input: every bad line or row becomes a RowError with its position, and reading goes on (issue 9,
items 6, 7, 13, 15 and the reader's part of 2)."""

from __future__ import annotations

import csv
import io
import json
import pickle
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from engine.core.incident import IncidentError
from engine.io import export as export_module
from engine.io.export import (
    MAX_CELL_CHARS,
    ExportError,
    JsonParser,
    JsonUnit,
    Record,
    RowError,
    open_export,
    parse_unit,
    read_export,
)
from engine.io.incident import IncidentReader
from engine.io.jsondoc import MAX_DEPTH, MAX_NUMBER_CHARS, JsonError, decode_json
from policy.vocabulary import Spec, ValueType, Vocabulary, core

TZ = "America/Chicago"


def _vocab() -> Vocabulary:
    extra = {"weight": Spec(type=ValueType.NUMBER), "hired": Spec(type=ValueType.DATE),
             "count": Spec(type=ValueType.INTEGER, minimum=0, maximum=10)}
    return core().extended(extra, {}, {})


VOCAB = _vocab()


def incident(iid: str = "A-1", **facts: Any) -> dict[str, Any]:
    return {"id": iid, "timezone": TZ, "facts": dict(facts),
            "events": [{"type": "dispatched", "at": "2024-03-01T14:05:00-06:00", "officer": "B1"}]}


def line(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


def read_all(path: Path, fmt: str | None = None) -> list[Record | RowError]:
    return list(read_export(path, VOCAB, fmt))


def records(items: list[Record | RowError]) -> dict[int, Record]:
    return {r.line: r for r in items if isinstance(r, Record)}


def errors(items: list[Record | RowError]) -> dict[int, RowError]:
    return {r.line: r for r in items if isinstance(r, RowError)}


# --- item 6: one bad JSON line never stops a run -----------------------------------------------------

@pytest.mark.parametrize(("bad", "says"), [
    ("[" * 100_000 + "]" * 100_000, "nested more than"),
    ('{"id": "X", "n": ' + "9" * 5000 + "}", "longer than"),
    ('{"id": "\\ud800", "timezone": "America/Chicago"}', "lone surrogate"),
    ('{"id": "X", "facts": {"weight": 1e400}}', "too large"),
    ('{"id": "X", "facts": {"weight": NaN}}', "`NaN` is not a number"),
    ('{"id": "X", "facts": {"weight": -Infinity}}', "`-Infinity` is not a number"),
    ('{"id": "X", "id": "Y"}', "appears twice"),
    ("[1, 2, 3]", "one JSON object"),
    ('{"id": "X", "events": [', "not valid JSON"),
])
def test_a_hostile_jsonl_line_is_one_error_and_reading_goes_on(tmp_path: Path, bad: str, says: str) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(line(incident("A")) + "\n" + bad + "\n" + line(incident("B")) + "\n", encoding="utf-8")
    items = read_all(path)
    assert [type(i).__name__ for i in items] == ["Record", "RowError", "Record"]
    assert says in errors(items)[2].message
    assert records(items)[3].incident["id"] == "B"


def test_json_errors_carry_the_column(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"id": "X", "facts": {"weight": NaN}}\n', encoding="utf-8")
    (err,) = read_all(path)
    assert isinstance(err, RowError) and err.line == 1 and err.column == 33
    assert err.to_dict()["column"] == 33


def test_invalid_utf8_rejects_only_its_line_with_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(line(incident("A")).encode() + b"\n" + b'{"id": "caf\xe9"}\n' + line(incident("B")).encode())
    items = read_all(path)
    err = errors(items)[2]
    assert "not UTF-8 at byte 12" in err.message and err.column == 12
    assert records(items)[3].incident["id"] == "B"


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\u0085", "\r", "\f", "\v", "\x1c", "\x1d", "\x1e"])
def test_only_newline_ends_a_jsonl_line(tmp_path: Path, char: str) -> None:
    first = incident("A")
    first["events"][0]["officer"] = f"B{char}1"
    raw = json.dumps(first, ensure_ascii=False).replace("\\r", "\r").replace("\\f", "\f").replace("\\u000b", "\v")
    raw = raw.replace("\\u001c", "\x1c").replace("\\u001d", "\x1d").replace("\\u001e", "\x1e")
    assert char in raw  # the raw character itself, inside a string (only \r, \f... are invalid JSON there)
    path = tmp_path / "x.jsonl"
    path.write_bytes((raw + "\n" + line(incident("B")) + "\r\n" + line(incident("C")) + "\n").encode())
    items = read_all(path)
    assert len(items) == 3
    assert records(items)[2].incident["id"] == "B" and records(items)[3].incident["id"] == "C"
    if isinstance(items[0], Record):
        assert items[0].incident["events"][0]["officer"] == f"B{char}1"
    else:  # a raw control character in a JSON string is invalid JSON: refused, on line 1
        assert items[0].line == 1 and char in "\r\f\v\x1c\x1d\x1e"


def test_an_unexpected_exception_while_decoding_is_a_row_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(text: str) -> Any:
        raise KeyError("boom")

    monkeypatch.setattr(export_module, "decode_json", explode)
    err = parse_unit(JsonParser(), JsonUnit(7, "{}"))
    assert isinstance(err, RowError) and err.line == 7 and "KeyError" in err.message


@pytest.mark.parametrize("name, body", [
    ("x.jsonl", '{"id":"A","timezone":"America/Chicago","events":[]}\n[1,\n\n{"id":"B"}\n'),
    ("x.json", '[{"id":"A"},\n {"id":"B","events":[]}]'),
    ("x.csv", "incident_id,timezone,type,at,fact.count\n"
              f"A,{TZ},dispatched,2024-03-01T14:05:00-06:00,3\nA,{TZ},arrived,2024-03-01T14:15:00-06:00,3\n"
              f"B,{TZ},dispatched,2024-03-01T14:05:00-06:00,x\n"),
])
def test_units_cross_to_a_worker_unchanged(tmp_path: Path, name: str, body: str) -> None:
    """What an audit or an impact ships to a worker (a unit per incident, pickled by their own
    `__reduce__`) arrives equal, and is read there as it would be here."""
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    export = open_export(path, _vocab())
    units = list(export.units())
    assert len(units) >= 2
    for unit in units:
        copy = pickle.loads(pickle.dumps(unit, protocol=pickle.HIGHEST_PROTOCOL))
        assert copy == unit and type(copy) is type(unit)
        if not isinstance(unit, RowError):
            assert parse_unit(export.parser, copy) == parse_unit(export.parser, unit)


def test_a_csv_cell_over_the_limit_refuses_its_incident_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    huge = "x" * (MAX_CELL_CHARS + 1)
    path.write_text("incident_id,timezone,type,at,officer\n"
                    f"A,{TZ},dispatched,2024-03-01T14:05:00-06:00,B1\n"
                    f"A,{TZ},arrived,2024-03-01T14:15:00-06:00,{huge}\n"
                    f"B,{TZ},dispatched,2024-03-01T14:05:00-06:00,B2\n", encoding="utf-8")
    items = read_all(path)
    assert len(items) == 2
    err, rec = items
    assert isinstance(err, RowError) and err.incident == "A" and err.line == 3
    assert f"{MAX_CELL_CHARS:,} characters" in err.message
    assert isinstance(rec, Record) and rec.incident["id"] == "B" and rec.line == 4


def test_a_csv_with_lone_carriage_returns_is_said_in_plain_words(tmp_path: Path) -> None:
    """Lines ending with `\\r` alone (old Mac programs) make the whole file one line: said as such, not
    in the `csv` module's words ("universal-newline mode"); a `\\r` inside one row refuses that row."""
    path = tmp_path / "x.csv"
    path.write_bytes(f"incident_id,timezone,type,at\rA,{TZ},dispatched,2024-03-01T14:05:00-06:00\r".encode())
    with pytest.raises(ExportError) as caught:
        read_all(path)
    said = str(caught.value)
    assert "x.csv:1: unreadable CSV header: a carriage return (`\\r`) outside quotes" in said
    assert "ordinary line ends" in said and "newline" not in said
    path.write_bytes(f"incident_id,timezone,type,at\nA,{TZ},dispatched,2024-03-01T14:05:00-06:00\n"
                     f"B,{TZ},dis\rpatched,2024-03-01T14:05:00-06:00\n".encode())
    err = [i for i in read_all(path) if isinstance(i, RowError)]
    assert len(err) == 1 and err[0].line == 3 and err[0].message.startswith("a carriage return (`\\r`) outside")


APART = ("incident_id,timezone,type,at,officer\n"
         f"A,{TZ},dispatched,2024-03-01T14:05:00-06:00,B1\n"
         f"B,{TZ},dispatched,2024-03-01T14:06:00-06:00,B2\n"
         f"A,{TZ},arrived,2024-03-01T14:15:00-06:00,B1\n"
         f"C,{TZ},dispatched,2024-03-01T14:07:00-06:00,B3\n")


def _apart_read(items: list[Record | RowError], lines: tuple[int, int] = (2, 4)) -> None:
    """What APART reads as: A, whose rows are apart, refused whole at its first row; B and C read."""
    assert sorted(r.incident["id"] for r in items if isinstance(r, Record)) == ["B", "C"]
    first, later = (r for r in items if isinstance(r, RowError))
    assert (first.line, first.incident, first.reason) == (lines[0], "A", "rows not contiguous")
    assert "more of them come later" in first.message and "sort the export by `incident_id`" in first.message
    assert (later.line, later.incident) == (lines[1], "A") and "appeared earlier" in later.message


def test_an_incident_whose_rows_are_apart_is_refused_whole_never_judged_on_part(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(APART, encoding="utf-8")
    export = open_export(path, VOCAB)
    items = [r if isinstance(r, RowError) else parse_unit(export.parser, r) for r in export.units()]
    _apart_read(items)
    assert export.position == export.total  # the first pass is not counted as progress


def test_rows_apart_are_found_when_the_quick_scan_gives_way_to_the_exact_one(tmp_path: Path) -> None:
    # A cell over the limit is a row the quick scan does not read as the reader does.
    path = tmp_path / "x.csv"
    path.write_text(APART + f"D,{TZ},dispatched,2024-03-01T14:08:00-06:00,{'x' * (MAX_CELL_CHARS + 1)}\n",
                    encoding="utf-8")
    export = open_export(path, VOCAB)
    with pytest.raises(export_module._Irregular):
        list(export._quick_csv_ids(0))
    items = read_all(path)
    _apart_read(items[:-1])
    assert isinstance(items[-1], RowError) and items[-1].incident == "D"


def test_standard_input_csv_is_read_twice_from_a_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    class Stdin:
        buffer = io.BytesIO(APART.encode())

    monkeypatch.setattr(sys, "stdin", Stdin())
    _apart_read(list(read_export("-", VOCAB, "csv")))
    assert not Stdin.buffer.closed


def test_the_cell_limit_holds_whatever_the_process_wide_limit(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("incident_id,timezone,type,at,officer\n"
                    f"A,{TZ},dispatched,2024-03-01T14:05:00-06:00,{'x' * 200}\n", encoding="utf-8")
    old = csv.field_size_limit(100)
    try:
        (rec,) = read_all(path)
    finally:
        csv.field_size_limit(old)
    assert isinstance(rec, Record)
    assert csv.field_size_limit() == old


# --- strict JSON --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "where"), [
    ('{"a": 1,\n "a": 2}', (2, 2)),
    ('{"a": {"b": 1, "b": 2}}', (1, 16)),
    ('[1, NaN]', (1, 5)),
    ('{"x": Infinity}', (1, 7)),
    ('[1e999]', (1, 2)),
    ("[" + "1" * (MAX_NUMBER_CHARS + 1) + "]", (1, 2)),
    ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), (1, MAX_DEPTH + 1)),
    ('["ok", "\\udc00"]', (1, 9)),
    ('["\\ud800x"]', (1, 3)),
    ('["\\ud800\\u0041"]', (1, 3)),
    ('["\ud800"]', (1, 3)),
    ('{"a": 1} x', (1, 10)),
    ("", (1, 1)),
])
def test_decode_json_refuses_with_line_and_column(text: str, where: tuple[int, int]) -> None:
    with pytest.raises(JsonError) as info:
        decode_json(text)
    assert (info.value.line, info.value.column) == where


@pytest.mark.parametrize(("text", "value"), [
    ("[" * MAX_DEPTH + "]" * MAX_DEPTH, json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH)),
    ('"\\ud83d\\ude00"', "\U0001f600"),
    ('"\\\\ud800"', "\\ud800"),
    ('{"a": "[[[[", "b": 1.5, "c": -0, "d": 1e308}', {"a": "[[[[", "b": 1.5, "c": 0, "d": 1e308}),
    (b'\xef\xbb\xbf{"a": "\xc3\xa9"}', {"a": "é"}),
])
def test_decode_json_accepts_valid_json(text: str | bytes, value: Any) -> None:
    assert decode_json(text) == value


def test_decode_json_reports_the_byte_of_invalid_utf8() -> None:
    with pytest.raises(JsonError) as info:
        decode_json(b'{"a":\n "\xff"}')
    assert (info.value.line, info.value.column) == (2, 3)


# --- item 13: streaming, standard input, .json documents ---------------------------------------------

def test_jsonl_is_read_as_it_is_consumed(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text("".join(line(incident(f"I-{n}")) + "\n" for n in range(2000)), encoding="utf-8")
    export = open_export(path, VOCAB)
    units = export.units()
    next(units)
    assert 0 < export.position < export.total / 100  # one line read, not the file


def test_standard_input_is_json_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    data = (line(incident("A")) + "\n\n" + "{bad\n" + line(incident("B")) + "\n").encode()

    class Stdin:
        buffer = io.BytesIO(data)

    monkeypatch.setattr(sys, "stdin", Stdin())
    items = list(read_export("-", VOCAB))
    assert [type(i).__name__ for i in items] == ["Record", "RowError", "Record"]
    assert [i.line for i in items] == [1, 3, 4]
    assert not Stdin.buffer.closed


def test_a_json_document_is_one_incident_or_an_array(tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_text(json.dumps(incident("A"), indent=2), encoding="utf-8")
    (rec,) = read_all(one)
    assert isinstance(rec, Record) and rec.incident["id"] == "A" and rec.line == 1

    many = tmp_path / "many.json"
    many.write_text("[\n" + line(incident("A")) + ",\n" + '{"id": "B", "id": "C"},\n  ' + line(incident("D"))
                    + "\n]\n", encoding="utf-8")
    items = read_all(many)
    assert [type(i).__name__ for i in items] == ["Record", "RowError", "Record"]
    assert [i.line for i in items] == [2, 3, 4]
    bad = items[1]
    assert isinstance(bad, RowError) and bad.column == 13 and "appears twice" in bad.message
    assert isinstance(items[2], Record) and items[2].incident["id"] == "D"


def test_a_json_document_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export_module, "MAX_DOCUMENT_BYTES", 1000)
    path = tmp_path / "big.json"
    path.write_text("[" + ",".join([line(incident("A"))] * 20) + "]", encoding="utf-8")
    with pytest.raises(ExportError, match="JSON Lines"):
        read_all(path)


def test_a_line_over_the_line_bound_is_refused_without_holding_it(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export_module, "MAX_LINE_BYTES", 100)
    path = tmp_path / "x.jsonl"
    path.write_text('{"id": "' + "x" * 500 + '"}\n' + line({"id": "B"}) + "\n", encoding="utf-8")
    items = read_all(path)
    assert isinstance(items[0], RowError) and items[0].line == 1 and "longer than" in items[0].message
    assert isinstance(items[1], Record) and items[1].line == 2


@pytest.mark.parametrize(("name", "content"), [
    ("x.jsonl", b""), ("x.jsonl", b"\n \n"), ("x.json", b""), ("x.json", b"  \n"), ("x.json", b"[]"),
    ("x.csv", b""), ("x.csv", b"incident_id,timezone,type,at\n"),
])
def test_empty_input_yields_nothing(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert read_all(path) == []


def test_a_source_that_cannot_be_read_is_an_export_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="no such file"):
        read_export(tmp_path / "missing.jsonl", VOCAB)
    with pytest.raises(ExportError, match="not a regular file"):
        read_export(tmp_path, VOCAB, "jsonl")


# --- item 2: what `bwc generate` writes (a `groups` member) ------------------------------------------

def test_groups_are_stripped_into_the_record(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    data = {**incident("A"), "groups": {"district": "D3", "unit": 7, "night": True, "gone": None}}
    bad = {**incident("B"), "groups": {"district": {"nested": 1}}}
    path.write_text(line(data) + "\n" + line(bad) + "\n", encoding="utf-8")
    rec, err = read_all(path)
    assert isinstance(rec, Record) and "groups" not in rec.incident
    assert rec.groups == {"district": "D3", "unit": "7", "night": "true"}
    IncidentReader(VOCAB).read(rec.incident)
    assert isinstance(err, RowError) and err.incident == "B" and "groups.district" in err.message


# --- item 15: silent coercions ------------------------------------------------------------------------

def test_latin1_csv_cell_refuses_its_row_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"incident_id,timezone,type,at,officer\n"
                     b"A,America/Chicago,dispatched,2024-03-01T14:05:00-06:00,Jos\xe9\n"
                     b"B,America/Chicago,dispatched,2024-03-01T14:05:00-06:00,B2\n")
    err, rec = read_all(path)
    assert isinstance(err, RowError) and err.line == 2 and err.incident == "A"
    assert "not UTF-8 at byte 59" in err.message and err.column == 59
    assert isinstance(rec, Record) and rec.incident["id"] == "B"
    assert "\ufffd" not in json.dumps(rec.incident)


def test_latin1_in_an_incident_id_is_refused_not_merged(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"incident_id,timezone,type,at\n"
                     b"Jos\xe9,America/Chicago,dispatched,2024-03-01T14:05:00-06:00\n"
                     b"B,America/Chicago,dispatched,2024-03-01T14:05:00-06:00\n")
    err, rec = read_all(path)
    assert isinstance(err, RowError) and err.incident is None and err.line == 2
    json.dumps(err.to_dict(), ensure_ascii=False).encode("utf-8")  # writable
    assert isinstance(rec, Record)


def test_ids_are_never_stripped_or_merged(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("incident_id,timezone,type,at\n"
                    f"A,{TZ},dispatched,2024-03-01T14:05:00-06:00\n"
                    f" A,{TZ},arrived,2024-03-01T14:06:00-06:00\n"
                    f"A ,{TZ},arrived,2024-03-01T14:07:00-06:00\n", encoding="utf-8")
    items = read_all(path)
    assert [r.incident["id"] for r in items if isinstance(r, Record)] == ["A", " A", "A "]
    assert all(len(r.incident["events"]) == 1 for r in items if isinstance(r, Record))


def test_nan_and_infinity_are_not_number_facts(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("incident_id,timezone,type,at,fact.weight\n"
                    f"A,{TZ},dispatched,2024-03-01T14:05:00-06:00,NaN\n"
                    f"B,{TZ},dispatched,2024-03-01T14:05:00-06:00,inf\n"
                    f"C,{TZ},dispatched,2024-03-01T14:05:00-06:00,1_000\n"
                    f"D,{TZ},dispatched,2024-03-01T14:05:00-06:00,2.5\n", encoding="utf-8")
    items = read_all(path)
    assert [type(i).__name__ for i in items] == ["RowError", "RowError", "RowError", "Record"]
    assert all("fact.weight" in i.message for i in items if isinstance(i, RowError))
    reader = IncidentReader(VOCAB)
    for value in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(IncidentError, match=r"facts\.weight"):
            reader.read(incident("A", weight=value))


pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _parquet(path: Path, **columns: Any) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


def test_parquet_structures_lists_maps_and_nan_are_refused_naming_the_column(tmp_path: Path) -> None:
    base = {"incident_id": ["A", "B", "C", "D", "E"], "timezone": [TZ] * 5, "type": ["dispatched"] * 5,
            "at": ["2024-03-01T14:05:00-06:00"] * 5}
    path = _parquet(tmp_path / "s.parquet", **base,
                    officer=pa.array([{"a": 1}, None, None, None, None]),
                    **{"group.district": pa.array([None, None, None, None, "d1"]),
                       "fact.district": pa.array([None, None, float("nan"), None, None])})
    items = read_all(path)
    assert isinstance(items[0], RowError) and "`officer`" in items[0].message
    assert "struct" in items[0].message and "{'a'" not in items[0].message
    assert isinstance(items[2], RowError) and "`fact.district`" in items[2].message
    assert isinstance(items[4], Record) and items[4].groups == {"district": "d1"}

    lists = _parquet(tmp_path / "l.parquet", incident_id=["A", "B"], timezone=[TZ] * 2, type=["dispatched"] * 2,
                     at=["2024-03-01T14:05:00-06:00"] * 2, officer=pa.array([["x"], None]),
                     **{"fact.district": pa.array([None, [("k", "v")]], type=pa.map_(pa.string(), pa.string()))})
    first, second = read_all(lists)
    assert isinstance(first, RowError) and "list" in first.message and "`officer`" in first.message
    assert isinstance(second, RowError) and "`fact.district`" in second.message


def test_parquet_timestamps_outside_years_1_to_9999_refuse_their_row(tmp_path: Path) -> None:
    micro = 1_000_000
    stamps = pa.array([0, 300_000_000_000 * micro, 1_700_000_000 * micro], type=pa.timestamp("us", tz="UTC"))
    path = _parquet(tmp_path / "t.parquet", incident_id=["A", "B", "C"], timezone=[TZ] * 3,
                    type=["dispatched"] * 3, at=stamps)
    a, b, c = read_all(path)
    assert isinstance(a, Record) and isinstance(c, Record)
    assert isinstance(b, RowError) and b.line == 2 and b.incident == "B" and "9999" in b.message


def test_a_parquet_incident_whose_rows_are_apart_is_refused_whole(tmp_path: Path) -> None:
    path = _parquet(tmp_path / "a.parquet", incident_id=["A", "B", "A", "C"], timezone=[TZ] * 4,
                    type=["dispatched", "dispatched", "arrived", "dispatched"],
                    at=["2024-03-01T14:05:00-06:00", "2024-03-01T14:06:00-06:00", "2024-03-01T14:15:00-06:00",
                        "2024-03-01T14:07:00-06:00"], officer=["B1", "B2", "B1", "B3"])
    _apart_read(read_all(path), lines=(1, 3))  # a Parquet file's rows are counted from 1


def test_parquet_integer_ids_are_kept_as_written(tmp_path: Path) -> None:
    path = _parquet(tmp_path / "i.parquet", incident_id=[7, 7], timezone=[TZ] * 2, type=["dispatched"] * 2,
                    at=["2024-03-01T14:05:00-06:00"] * 2)
    (rec,) = read_all(path)
    assert isinstance(rec, Record) and rec.incident["id"] == "7" and rec.rows == 2


# --- item 7: time zones, times and dates in an incident ----------------------------------------------

@pytest.mark.parametrize("zone", ["America", "US", "localtime", "America/Chicago\nnotes", "", "../etc/passwd",
                                  "Factory", 5, None, ["America/Chicago"]])
def test_a_bad_time_zone_is_an_incident_error(zone: Any) -> None:
    data = incident("A")
    data["timezone"] = zone
    with pytest.raises(IncidentError) as info:
        IncidentReader(VOCAB).read(data)
    assert info.value.problems[0].field == "timezone"
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("at", ["2024-03-01T14:05:00", "20240301T140500Z", "9999-12-31T23:00:00-05:00",
                                "0001-01-01T00:30:00+01:00", "2024-02-30T00:00:00Z", 1709300000, None])
def test_a_bad_time_is_an_incident_error(at: Any) -> None:
    data = incident("A")
    data["events"][0]["at"] = at
    with pytest.raises(IncidentError, match=r"events\[0\]\.at"):
        IncidentReader(VOCAB).read(data)


# A `date` object (from a Python caller) is not text: refused, as JSON could never hold one.
@pytest.mark.parametrize("value", ["20200101", "2020-1-01", "2020-02-30", 20200101, "2020-01-01T00:00:00Z",
                                   date(2020, 1, 1)])
def test_dates_are_yyyy_mm_dd(value: Any) -> None:
    with pytest.raises(IncidentError, match=r"facts\.hired"):
        IncidentReader(VOCAB).read(incident("A", hired=value))
    IncidentReader(VOCAB).read(incident("A", hired="2020-01-01"))


def test_messages_show_data_as_literal_text() -> None:
    data = incident("A\x1b[31m")
    data["events"][0]["type"] = "x\n[/bold]" + "y" * 500
    data["facts"] = {"count": 10**5000}
    with pytest.raises(IncidentError) as info:
        IncidentReader(VOCAB).read(data)
    text = str(info.value)
    assert "\x1b" not in text and "\\x1b" in text
    assert "x\\n[/bold]" in text and "y" * 100 not in text
    assert "more than 60 digits" in text


@pytest.mark.parametrize("zone", ["America", "US", "localtime", "America/Chicago\nnotes"])
def test_policy_decide_raises_incident_error_for_a_bad_time_zone(zone: str) -> None:
    from engine.api import Library

    root = Path(__file__).resolve().parent.parent
    policy = Library.load(root / "rulesets").versions_of("illinois-50-ilcs-706-10-20")[-1]
    data = incident("A")
    data["timezone"] = zone
    with pytest.raises(IncidentError, match="timezone"):
        policy.decide(data)
