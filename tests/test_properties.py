"""Properties of the ruleset language: round trips, a stable digest, and a loader that never crashes."""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from budget import examples
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from strategies import duration_texts, ruleset_data, rulesets, rulesets_with_timelines

from policy.canonical import _Dumper, canonical_data, canonical_json, digest, to_yaml
from policy.diagnostics import CODES, RulesetError
from policy.duration import Duration
from policy.loader import load_ruleset, load_ruleset_text
from policy.model import Ruleset
from policy.obligations import OBLIGATION_KEYS

ROOT = Path(__file__).resolve().parent.parent
COLORADO = ROOT / "rulesets" / "colorado-24-31-902" / "2021.1.0.yaml"

FAST = settings(max_examples=examples(50), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _yaml_safe_json(text: str) -> str:
    """JSON that YAML reads the same: YAML reads a raw NEL, U+2028 or U+2029 inside a quoted string as a
    line break, and PyYAML does not join a `\\ud83d\\ude00` surrogate pair, so escape just those three."""
    for ch in ("\x85", "\u2028", "\u2029"):
        text = text.replace(ch, f"\\u{ord(ch):04x}")
    return text


# --- round trips -----------------------------------------------------------------------------------

@FAST
@given(rulesets())
def test_yaml_round_trip_is_identity(ruleset: Ruleset) -> None:
    text = to_yaml(ruleset)
    again = load_ruleset_text(text)
    assert again == ruleset
    assert to_yaml(again) == text
    assert digest(again) == digest(ruleset)


@FAST
@given(rulesets())
def test_canonical_json_round_trip_is_identity(ruleset: Ruleset) -> None:
    text = canonical_json(ruleset)
    assert Ruleset.model_validate_json(text) == ruleset
    assert Ruleset.model_validate(json.loads(text)) == ruleset
    # JSON is YAML: the loader reads the canonical JSON too.
    assert load_ruleset_text(_yaml_safe_json(text)) == ruleset


@FAST
@given(ruleset_data())
def test_drafted_data_loads_as_written(data: dict[str, Any]) -> None:
    # What a drafter writes (bare `equals`, a single role, explicit vocabulary) loads from YAML text
    # to the same model as from the data itself.
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True)
    assert load_ruleset_text(text) == Ruleset.model_validate(data)


def test_bundled_ruleset_round_trips() -> None:
    ruleset = load_ruleset(COLORADO)
    assert load_ruleset_text(to_yaml(ruleset)) == ruleset
    assert load_ruleset_text(canonical_json(ruleset)) == ruleset


@settings(max_examples=examples(20), deadline=None)
@given(rulesets_with_timelines())
def test_timelines_are_well_formed(pair: tuple[Ruleset, dict[str, Any]]) -> None:
    from datetime import datetime

    from strategies import VOCAB

    _, timeline = pair
    assert set(timeline) == {"facts", "events"}
    assert set(timeline["facts"]) <= set(VOCAB.facts)
    times = []
    for event in timeline["events"]:
        assert event["type"] in VOCAB.events
        at = datetime.fromisoformat(event["at"])
        assert at.tzinfo is not None
        times.append(at)
        assert set(event) - {"type", "at"} <= set(VOCAB.attributes_of(event["type"]))
    assert times == sorted(times)


# --- the digest ------------------------------------------------------------------------------------

def _shuffled(value: Any, rnd: random.Random) -> Any:
    """The same data with the keys of every mapping in a random order."""
    if isinstance(value, dict):
        items = list(value.items())
        rnd.shuffle(items)
        return {k: _shuffled(v, rnd) for k, v in items}
    if isinstance(value, list):
        return [_shuffled(v, rnd) for v in value]
    return value


_RULE_DEFAULTS = {"overrides": [], "where": {}, "notes": None, "confidence": None}
_OBLIGATION_DEFAULTS = {
    "retain": {"indefinitely": False, "legal_hold": False},
    "release": {"may_delay": [], "redact": [], "unedited": False},
    "access": {"purpose": None},
}


def _with_explicit_defaults(data: dict[str, Any]) -> dict[str, Any]:
    data = json.loads(json.dumps(data))
    data.setdefault("vocabulary", "bwc-core@1")
    data.setdefault("holidays", [])
    data.setdefault("declare", {})
    for rule in data["rules"]:
        for key, value in _RULE_DEFAULTS.items():
            rule.setdefault(key, value)
        for kind, defaults in _OBLIGATION_DEFAULTS.items():
            if kind in rule:
                for key, value in defaults.items():
                    rule[kind].setdefault(key, value)
    return data


def _with_comments(text: str, rnd: random.Random) -> str:
    """Comments and blank lines between top-level keys, and at the start and the end."""
    out = ["# a comment at the top", ""]
    for line in text.splitlines():
        if line[:1].isalpha() and rnd.random() < 0.5:
            out.append(rnd.choice(["", "# a comment", "   # an indented comment", "#"]))
        out.append(line)
    out += ["", "# the end"]
    return "\n".join(out) + rnd.choice(["\n", "\n\n", "", "\r\n"])


@FAST
@given(rulesets(), st.randoms(use_true_random=False), st.sampled_from([None, False, True]), st.integers(2, 4),
       st.booleans(), st.booleans())
def test_digest_ignores_layout(ruleset: Ruleset, rnd: random.Random, flow: bool | None, indent: int,
                               defaults: bool, comments: bool) -> None:
    data = canonical_data(ruleset)
    if defaults:
        data = _with_explicit_defaults(data)
    data = _shuffled(data, rnd)
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=rnd.random() < 0.5,
                     default_flow_style=flow, indent=indent, width=rnd.choice([100, 10_000]))
    # (Not narrower: PyYAML's emitter breaks a double-quoted string with a space in it wrongly once the
    # indentation is past the width, e.g. width 40 at indent 6 x 7 levels: `"a b"` comes back `a\  b`.)
    if comments and flow is not True:
        text = _with_comments(text, rnd)
    assert digest(load_ruleset_text(text)) == digest(ruleset)
    # JSON (a YAML flow style) too, with keys in any order.
    as_json = _yaml_safe_json(json.dumps(_shuffled(data, rnd), indent=rnd.choice([None, 1, 4]), ensure_ascii=False))
    assert digest(load_ruleset_text(as_json)) == digest(ruleset)


def _durations_in(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of the duration values under `value`."""
    found: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if k in ("within", "at_least", "up_to", "reassess_every") and _is_duration(v):
                found.append((*path, k))
            else:
                found += _durations_in(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _durations_in(v, (*path, i))
    return found


def _is_duration(value: Any) -> bool:
    # `at_least` is also a comparison operator (`injury: {at_least: minor}`).
    try:
        Duration.parse(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return True


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        data = data[step]
    data[path[-1]] = value


@FAST
@given(rulesets(), st.data())
def test_digest_changes_with_a_rule_duration(ruleset: Ruleset, data: st.DataObject) -> None:
    base = canonical_data(ruleset)
    paths = _durations_in(base["rules"])
    if paths:
        path = ("rules", *data.draw(st.sampled_from(paths)))
    else:
        i = data.draw(st.integers(0, len(base["rules"]) - 1))
        rule = base["rules"][i]
        for key in OBLIGATION_KEYS:
            rule.pop(key, None)
        rule["delete"] = {"within": "P30D", "after": "incident"}
        path = ("rules", i, "delete", "within")
    old = Ruleset.model_validate(base)
    current = Duration.parse(_get(base, path))
    new = data.draw(duration_texts.filter(lambda t: Duration.parse(t) != current))
    _set(base, path, new)
    changed = load_ruleset_text(_yaml_safe_json(json.dumps(base, ensure_ascii=False)))
    assert digest(changed) != digest(old)
    # And back again.
    _set(base, path, str(current))
    assert digest(load_ruleset_text(_yaml_safe_json(json.dumps(base, ensure_ascii=False)))) == digest(old)


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        data = data[step]
    return data


def test_digest_ignores_comments_and_order_in_the_bundled_ruleset() -> None:
    text = COLORADO.read_text(encoding="utf-8")
    ruleset = load_ruleset_text(text)
    stripped = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert digest(load_ruleset_text(stripped)) == digest(ruleset)
    reordered = yaml.dump(_shuffled(canonical_data(ruleset), random.Random(7)), Dumper=_Dumper,
                          default_flow_style=True)
    assert digest(load_ruleset_text(reordered)) == digest(ruleset)
    assert digest(load_ruleset_text(text.replace("within: P21D", "within: P22D"))) != digest(ruleset)


# --- the loader never crashes ----------------------------------------------------------------------

NASTY = ["\t", "*", "&", ":", ": ", "[", "]", "{", "}", "'", '"', "-", "- ", "#", "!", "!!python/object ", "|",
         ">", "%", "@", "`", "\\", "\n", " ", "?", ",", "<<: ", "*a", "&a ", "---\n", "...\n", "\x00", "\x85",
         "\ufeff", "\u2028", "\ud800", "\x1b", "1e400", "08", ".inf", "~", "null", "yes", "2021-02-30",
         "P99999999999Y", "9" * 400]
NASTY_BYTES = [b"\xff", b"\xfe", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xef\xbb\xbf", b"\x00", b"\r"]


@st.composite
def _text_mutations(draw: st.DrawFn, text: str) -> str:
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "insert", "truncate"]))
        if op == "truncate":
            joined = "".join(lines)
            lines = [joined[: draw(st.integers(0, len(joined)))]]
        elif not lines:
            lines = [draw(st.sampled_from(NASTY))]
        elif op == "delete":
            del lines[draw(st.integers(0, len(lines) - 1))]
        elif op == "duplicate":
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
        elif op == "swap":
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            i = draw(st.integers(0, len(lines) - 1))
            at = draw(st.integers(0, len(lines[i])))
            piece = draw(st.one_of(st.sampled_from(NASTY), st.text(max_size=3)))
            lines[i] = lines[i][:at] + piece + lines[i][at:]
    return "".join(lines)


def _bytes_mutation(raw: bytes, rnd: random.Random) -> bytes:
    for _ in range(rnd.randint(1, 3)):
        at = rnd.randint(0, len(raw))
        choice = rnd.random()
        if choice < 0.6:
            raw = raw[:at] + rnd.choice(NASTY_BYTES) + raw[at:]
        elif choice < 0.8:
            raw = raw[:at]
        else:
            raw = raw[:at] + raw[at + rnd.randint(1, 20):]
    return raw


def _loads_or_explains(load: Any, file: str) -> None:
    try:
        result = load()
    except RulesetError as exc:
        assert exc.diagnostics, "a RulesetError must carry at least one diagnostic"
        for d in exc.diagnostics:
            assert d.file == file
            assert d.message and d.message.strip()
            assert d.code in CODES
            assert str(d)
        return
    assert isinstance(result, Ruleset)


_BASE_TEXT = COLORADO.read_text(encoding="utf-8")


# Inputs that once crashed the loader (issue 9), kept as examples so every run tries them again.
_ESCAPE_PAST_UNICODE = _BASE_TEXT.replace("title: Colorado", 'title: "\\U10001000" Colorado', 1)
_FOUND = [
    _ESCAPE_PAST_UNICODE,
    _BASE_TEXT.replace("title: Colorado", 'title: "\\UFFFFFFFF" Colorado', 1),
    _BASE_TEXT.replace("version: 2021.1.0", "version: 2021.1.0\nn: " + "9" * 4301, 1),  # over 4,300 digits
    _BASE_TEXT.replace("timezone: America/Denver", "timezone: America", 1),  # a folder of tzdata
    _BASE_TEXT.replace("timezone: America/Denver", "timezone: America/Denver\n  (Mountain)", 1),  # folded
    # a bad `effect` and a missing `to`: the rule's other parts are checked alone
    _BASE_TEXT.replace("      effect: must\n      to: public\n      within: P21D",
                       "      effect: mustt\n      within: P21D", 1),
]


@settings(max_examples=examples(200), deadline=None)
@given(_text_mutations(_BASE_TEXT))
@example(_FOUND[0])
@example(_FOUND[1])
@example(_FOUND[2])
@example(_FOUND[3])
@example(_FOUND[4])
@example(_FOUND[5])
def test_mutated_bundled_file_never_crashes_the_loader(text: str) -> None:
    _loads_or_explains(lambda: load_ruleset_text(text, "mutated.yaml"), "mutated.yaml")


@settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rulesets(max_rules=4).map(to_yaml).flatmap(_text_mutations))
@example(_ESCAPE_PAST_UNICODE)  # found by this property: `"\U10001000"` raised ValueError from chr()
def test_mutated_generated_file_never_crashes_the_loader(text: str) -> None:
    _loads_or_explains(lambda: load_ruleset_text(text, "mutated.yaml"), "mutated.yaml")


@settings(max_examples=examples(100), deadline=None)
@given(_text_mutations(_BASE_TEXT), st.randoms(use_true_random=False))
def test_mutated_bytes_never_crash_the_loader(text: str, rnd: random.Random) -> None:
    raw = _bytes_mutation(text.encode("utf-8", errors="surrogatepass"), rnd)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mutated.yaml"
        path.write_bytes(raw)
        _loads_or_explains(lambda: load_ruleset(path), str(path))


def test_found_examples_change_what_they_mean_to() -> None:
    # Each pinned example differs from the bundled file (a replace that matched nothing pins nothing).
    assert all(text != _BASE_TEXT for text in _FOUND)


@pytest.mark.parametrize("text", [
    "", "\n", "#only a comment\n", "[]", "- a\n- b\n", "42", "ruleset", "\x00", "\ufeff", "a: *b\n", "&a [*a]\n",
    "rules: &r [*r]\n", "{" * 200, "[" * 200, "? [a]\n: b\n", "!!python/object:os.system {}\n",
    "ruleset: x\nruleset: y\n", "<<: {a: 1}\n", "a: 1\n---\nb: 2\n", "\tkey: value\n",
])
def test_hostile_text_is_explained(text: str) -> None:
    _loads_or_explains(lambda: load_ruleset_text(text, "hostile.yaml"), "hostile.yaml")
