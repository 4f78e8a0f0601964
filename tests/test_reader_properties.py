"""Properties of the one incident reader: whatever it is given, it answers with a value or its own
error class, never another exception (issue 9: every reachable input gets a clear answer)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from budget import examples
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine.core.incident import Event, Incident, IncidentError
from engine.io import export as export_module
from engine.io import jsondoc
from engine.io.export import JsonParser, JsonUnit, Record, RowError, open_export, parse_unit, read_export
from engine.io.incident import IncidentReader
from engine.io.jsondoc import JsonError, decode_json
from policy import values
from policy.vocabulary import Spec, ValueType, core

VOCAB = core().extended({"weight": Spec(type=ValueType.NUMBER), "hired": Spec(type=ValueType.DATE)}, {}, {})
READER = IncidentReader(VOCAB)

VALID: dict[str, Any] = {
    "id": "P-1", "timezone": "America/Chicago",
    "facts": {"in_uniform": True, "assignment": "patrol", "weight": 2.5, "hired": "2019-06-03"},
    "events": [
        {"type": "dispatched", "at": "2024-03-01T14:05:00-06:00", "officer": "B1"},
        {"type": "use_of_force", "at": "2024-03-01T14:20:00-06:00", "officer": "B1", "level": 2,
         "injury": "minor"},
        {"type": "arrest", "at": "2024-03-01T14:10:00-06:00"},
    ],
}

scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=10**300, max_value=10**1300)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30)
           | st.sampled_from(["America", "US", "localtime", "America/Chicago", "2024-03-01T14:05:00-06:00",
                              "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "20240301", "2019-06-03",
                              "dispatched", "patrol", "\ud800", "x\n[/bold]\x1b[2J"]))
json_like = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(st.text(max_size=8) | st.sampled_from(["id", "type", "at", "facts",
                                                                                    "events", "timezone"]),
                                           inner, max_size=4), max_leaves=20)
keys = st.text(max_size=8) | st.integers() | st.sampled_from(["id", "timezone", "facts", "events", "type", "at",
                                                               "level", "injury", "officer", "weight", "hired"])


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, (*prefix, i))
    return found


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    """The valid incident with one place replaced, removed, or given an extra key."""
    data = copy.deepcopy(VALID)
    paths = _paths(data)[1:]
    path = draw(st.sampled_from(paths))
    parent: Any = data
    for step in path[:-1]:
        parent = parent[step]
    action = draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "replace":
        parent[path[-1]] = draw(json_like)
    elif action == "delete":
        del parent[path[-1]]
    else:
        target = parent[path[-1]]
        if isinstance(target, dict):
            target[draw(keys)] = draw(json_like)
        elif isinstance(target, list):
            target.append(draw(json_like))
    return data


def _read_only_raises_incident_error(data: Any) -> None:
    try:
        result = READER.read(data)
    except IncidentError as exc:
        assert exc.problems
        str(exc).encode("utf-8", "backslashreplace")
        for problem in exc.problems:
            assert "\n" not in problem.message and "\x1b" not in problem.message
        return
    assert isinstance(result, Incident)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_like)
@example([])
@example({"id": 10**5000})
@example({"id": "A", "timezone": "America", "events": [{"type": "dispatched", "at": "x"}]})
@example({"id": "A", "timezone": "America/Chicago", "facts": {"weight": float("nan")},
          "events": [{"type": "dispatched", "at": "2024-03-01T14:05:00-06:00"}]})
@example({"id": "A", "timezone": "America/Chicago", "facts": {}, "events": [{"type": "use_of_force",
          "at": "2024-03-01T14:05:00-06:00", "injury": ["minor"], 3: 4}]})
def test_reading_any_value_raises_only_incident_error(data: Any) -> None:
    _read_only_raises_incident_error(data)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
@example(VALID)
@example({**VALID, "events": [{"type": "dispatched", "at": "9999-12-31T23:00:00-05:00"}]})
@example({**VALID, "events": VALID["events"] * 5000})
@example({**VALID, "id": "x" * 1_000_000, "events": [{**VALID["events"][0], "officer": "y" * 1_000_000}]})
def test_reading_a_mutated_incident_raises_only_incident_error(data: Any) -> None:
    _read_only_raises_incident_error(data)


@settings(max_examples=examples(300), deadline=None)
@given(st.text(max_size=200) | st.binary(max_size=200)
       | st.builds(lambda v, cut: json.dumps(v)[:cut], json_like, st.integers(0, 200)))
@example('{"a": 1, "a": 2}')
@example("[" * 200_000)
@example('"\\udfff\\ud800"')
@example(b"\xff\xfe{}")
def test_decode_json_raises_only_json_error(text: str | bytes) -> None:
    try:
        decode_json(text)
    except JsonError as exc:
        assert exc.line >= 1 and exc.column >= 1 and exc.message


def _answer(decode: Any, text: str) -> tuple[Any, ...]:
    try:
        return ("value", repr(decode(text)))  # repr: tells -0.0 from 0 and keeps key order
    except JsonError as exc:
        return ("refused", exc.message, exc.line, exc.column)


def _strictly(text: str) -> Any:
    jsondoc.check_text(text)
    return jsondoc._strict(text)


# JSON texts written token by token: keys from a small set (and one escaped), so that objects often
# repeat a key; numbers and strings that orjson reads or writes otherwise than the strict decoder.
_json_tokens = st.sampled_from(["null", "true", "0", "-0", "7", "1.0", "1e5", "0.1", "5e-324", "1e400", "NaN",
                                "18446744073709551615", "18446744073709551616", "-9223372036854775809",
                                '"a"', '"\\u00e9"', '"é"', '"\\/"', '"\\ud800"', '"x\\"y"'])
_json_texts = st.recursive(
    _json_tokens | st.builds(json.dumps, st.text(max_size=8)),
    lambda inner: st.lists(inner, max_size=4).map(lambda xs: "[" + ",".join(xs) + "]")
    | st.lists(st.tuples(st.sampled_from(['"a"', '"b"', '"\\u0061"']), inner), max_size=4).map(
        lambda pairs: "{" + ",".join(f"{k}:{v}" for k, v in pairs) + "}"),
    max_leaves=12,
) | st.builds(lambda v: json.dumps(v, separators=(",", ":"), ensure_ascii=False), json_like)


@settings(max_examples=examples(300), deadline=None)
@given(_json_texts | _json_texts.map(lambda t: " " + t) | st.text(max_size=60))
@example('{"a":1,"a":2}')
@example('{"\\u0061":1,"a":2}')
@example('{"a":18446744073709551616}')
@example('{"a":1e400}')
@example('{"a":"\\ud800"}')
def test_decode_json_answers_as_the_strict_decoder(text: str) -> None:
    """orjson's value is taken only when it writes back the same bytes: whatever the text, decode_json
    gives the strict decoder's value, or its refusal with the same message, line and column."""
    assert _answer(decode_json, text) == _answer(_strictly, text)


@settings(max_examples=examples(200), deadline=None)
@given(st.text(max_size=200) | st.builds(lambda v: json.dumps(v, allow_nan=True), json_like))
@example('{"groups": {"d": [1]}}')
@example('{"groups": []}')
def test_a_json_line_is_a_record_or_a_row_error(text: str) -> None:
    result = parse_unit(JsonParser(), JsonUnit(5, text))
    assert isinstance(result, Record | RowError)
    if isinstance(result, RowError):
        json.dumps(result.to_dict(), ensure_ascii=False).encode("utf-8")


HEADER = b"incident_id,timezone,type,at,officer,level,fact.weight,fact.hired,group.district\n"


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(max_size=80) | st.sampled_from([
    b"A,America/Chicago,dispatched,2024-03-01T14:05:00-06:00,B1,,2.5,2019-06-03,d1",
    b"A,America/Chicago,use_of_force,2024-03-01T14:06:00-06:00,B1,5,NaN,,d1",
    b'B,America/Chicago,arrest,2024-03-01T14:05:00-06:00,"B\n2",,,,"d\xe92"',
    b'"C,America/Chicago', b"\r", b"\x00", "\u2028".encode(),
]), max_size=12))
def test_any_csv_body_gives_records_and_row_errors(tmp_path_factory: Any, lines: list[bytes]) -> None:
    path: Path = tmp_path_factory.mktemp("csv") / "x.csv"
    path.write_bytes(HEADER + b"\n".join(lines))
    for item in read_export(path, VOCAB):
        assert isinstance(item, Record | RowError)
        if isinstance(item, RowError):
            json.dumps(item.to_dict(), ensure_ascii=False).encode("utf-8")
        else:
            json.dumps(item.incident, ensure_ascii=False).encode("utf-8")


# Times a few minutes apart in two offsets, so that equal instants are written differently and ties occur.
_times = st.builds(lambda minute, offset: f"2024-03-01T{10 + minute // 60:02d}:{minute % 60:02d}:00{offset}",
                   st.integers(0, 5), st.sampled_from(["-06:00", "Z"]))


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(_times, min_size=1, max_size=8))
@example(["2024-03-01T10:00:00Z", "2024-03-01T10:00:00Z"])  # a tie, already in order
@example(["2024-03-01T10:01:00Z", "2024-03-01T10:00:00Z"])  # out of order
def test_events_are_in_time_order_ties_in_input_order(times: list[str]) -> None:
    # Whether the input is already in order (read as it is) or not (sorted), the result is the same.
    incident = READER.read({"id": "T", "timezone": "UTC", "events": [{"type": "dispatched", "at": t} for t in times]})
    expected = sorted(range(len(times)), key=lambda i: (datetime.fromisoformat(times[i]), i))
    assert [e.index for e in incident.events] == expected
    assert [e.position for e in incident.events] == list(range(len(times)))


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(_times, min_size=1, max_size=8), st.randoms(use_true_random=False))
@example(["2024-03-01T10:00:00Z", "2024-03-01T10:00:00Z"], None)  # a tie, positions going down
def test_an_incident_puts_events_of_any_positions_in_time_order(times: list[str], rnd: Any) -> None:
    # Events as `until` hands them over (positions from an earlier placement, not rising in input order)
    # or in any order at all: the incident is the one sorting them gives, ties by position.
    events = [Event("dispatched", datetime.fromisoformat(t), {}, i) for i, t in enumerate(times)]
    if rnd is not None:
        rnd.shuffle(events)
    else:
        events.reverse()
    placed = Incident.of("T", "UTC", {}, events).events
    expected = sorted(events, key=lambda e: (e.at, e.index))
    assert [(e.at, e.index) for e in placed] == [(e.at, e.index) for e in expected]
    assert [e.position for e in placed] == list(range(len(times)))
    for cut in placed:  # an earlier view of it keeps the same order
        assert Incident.of("T", "UTC", {}, list(placed)).until(cut.at).events == \
            tuple(e for e in placed if e.at <= cut.at)


@settings(max_examples=examples(300), deadline=None)
@given(st.from_regex(values._COMMON_TIMESTAMP, fullmatch=True))
@example("2024-03-01T14:05:00-06:00")
def test_the_common_time_form_is_a_form_of_iso_8601_the_reader_takes(text: str) -> None:
    # The shortcut pattern for the usual form accepts nothing the full pattern refuses.
    assert values._TIMESTAMP.fullmatch(text)


@settings(max_examples=examples(300), deadline=None)
@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
       st.integers(-(24 * 3600 - 1), 24 * 3600 - 1), st.sampled_from(["minutes", "seconds", "microseconds"]))
@example(datetime(2024, 3, 1, 14, 5), -6 * 3600, "seconds")
@example(datetime(1, 1, 1, 12), 5 * 3600, "seconds")  # year 1, on the calendar in UTC
@example(datetime(2024, 3, 1, 14, 5), 5 * 3600 + 30 * 60 + 15, "seconds")  # an offset with seconds
def test_a_time_read_is_the_moment_and_offset_written(naive: datetime, offset: int, spec: str) -> None:
    text = naive.replace(tzinfo=timezone(timedelta(seconds=offset))).isoformat(timespec=spec)
    try:
        expected = datetime.fromisoformat(text)
        expected.astimezone(UTC)
    except (ValueError, OverflowError):  # off the calendar in UTC: refused (another test says how)
        return
    t = values.parse_timestamp(text)
    assert (t, t.utcoffset(), t.isoformat(timespec=spec), t.fold) == \
        (expected, expected.utcoffset(), text, expected.fold)


# Times in every form a reader takes, with offsets that often match: the reader compares them as written
# when it can (`_written_in_order`), and must then place the events exactly as comparing the times would.
_FORMS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f")
_OFFSETS = ("-06:00", "-05:00", "+00:00", "Z", "+05:30:00")


@st.composite
def _times(draw: st.DrawFn) -> str:
    moment = draw(st.datetimes(min_value=datetime(2023, 12, 31), max_value=datetime(2024, 1, 2)))
    form = draw(st.sampled_from(_FORMS[:1] * 6 + _FORMS[1:]))
    return moment.strftime(form) + draw(st.sampled_from(_OFFSETS[:1] * 4 + _OFFSETS[1:]))


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(_times(), min_size=1, max_size=8))
@example(["2024-01-01T10:00:00-06:00", "2024-01-01T10:00:00-06:00", "2024-01-01T09:59:59-06:00"])
@example(["2024-01-01T10:00:00-06:00", "2024-01-01T09:00:00-07:00"])  # in order as text, not in time
@example(["2024-01-01T10:00:00Z", "2024-01-01T10:00:00.5Z"])
@example(["2024-01-01T10:00-06:00", "2024-01-01T09:00:00-06:00"])
@example(["2024-01-01T09:00-06:00", "2024-01-01T10:00-01:00"])  # no seconds: the offset's place differs
@example(["2023-12-31 00:00:01+05:30:00", "2023-12-31T00:00:00+05:30:00"])  # " " sorts before "T"
def test_events_are_placed_in_time_order_whatever_form_their_times_are_written_in(times: list[str]) -> None:
    data = {"id": "T-1", "timezone": "America/Chicago", "facts": {},
            "events": [{"type": "dispatched", "at": t} for t in times]}
    inc = READER.read(data)
    ats = [values.parse_timestamp(t) for t in times]
    expected = sorted(range(len(times)), key=lambda i: (ats[i], i))
    assert [e.index for e in inc.events] == expected
    assert [e.position for e in inc.events] == list(range(len(times)))
    assert inc.by_type == {"dispatched": inc.events}
    assert inc == Incident.of(inc.id, inc.timezone, inc.facts, list(inc.events))


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.sampled_from(["A", "B", "C", "", " ", '"A"', '"A\nB"', '"B', "A\xff", "\r", "x" * 40]),
                         max_size=4).map(",".join), max_size=14),
       st.sampled_from(["\n", "\r\n", "\r"]))
@example(["A", "B", "A"], "\n")
@example(["A", " , ", "A"], "\n")
@example(["A", '"A\nB"', "A"], "\n")
def test_the_quick_scan_finds_the_incidents_apart_as_the_reader_sees_them(tmp_path_factory: Any, rows: list[str],
                                                                        end: str) -> None:
    """The first pass that finds incidents whose rows are apart reads each row's incident exactly as
    the reader does, or gives way to the exact pass."""
    path: Path = tmp_path_factory.mktemp("csv") / "x.csv"
    text = "incident_id,timezone,type,at,officer\n" + end.join(rows)
    path.write_bytes(text.encode().replace("\xff".encode(), b"\xff"))  # a byte that is not UTF-8
    export = open_export(path, VOCAB)
    exact = export_module._apart(export_module._row_ids(export._csv_rows(), 0))
    try:
        quick = export_module._apart(export._quick_csv_ids(0))
    except export_module._Irregular:
        return
    assert quick == exact
