"""Never a traceback, never lost data: every command, fed random and mutated input.

Each example lays out a small workspace (one bundled ruleset with its scenario tests, a sample
incident, an export of generated incidents as JSON Lines, CSV and Parquet), mutates one of the
files (bytes flipped, hostile snippets spliced in, JSON values replaced by arbitrary ones), runs
one `bwc` command on it, and asserts what a user is promised:

- the exit code is 0, 1 or 2 (130 and 143 are for signals; anything else is a crash);
- a refusal says something (an exit code other than 0 comes with a message);
- no traceback, and no "internal error" (which is the boundary catching a bug);
- no file outside the command's output path changed, appeared or vanished.

The commands run in this process through the console entry point (`engine.cli:main`), the way the
`bwc` script runs them, so a property run is hundreds of commands in seconds; one test runs the
real script in a subprocess to tie the two together.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from budget import examples
from cli_runner import run_cli
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
BWC = Path(sys.executable).parent / "bwc"

RULESET_ID = "illinois-50-ilcs-706-10-20"  # two versions: as-of selection, diff and impact all have work
SAMPLE = ROOT / "examples" / f"{RULESET_ID}.json"

# Snippets that broke some reader once, or that a hostile export would try.
SNIPPETS: tuple[bytes, ...] = (
    b"\xff", b"\xc3", b"\xe2\x80\xa8", b"\xc2\x85", b"\x00", b"\r", b"\t", b"\n", b"\x1b[31m", b"\x1b]0;x\x07",
    b"[/bold]", b"[link=file:///etc/passwd]x[/link]", b"=HYPERLINK(\"x\")", b"+1", b"@SUM(A1)", b"-2",
    b"9" * 4400, b'"\\ud800"', b"NaN", b"-Infinity", b'{"a":1,"a":2}', b"[" * 3000, b"{" * 3000,
    b"*a", b"&a ", b"<<: *a", b"!!python/object:os.system", b"America", b"localtime", b"US", b"20200101",
    b"P99999Y", b"9999-12-31T23:59:59-12:00", b"0001-01-01T00:00:00+14:00", b'"\\U10001000"', b"\xef\xbb\xbf",
    b"1e999", b"--", b"../../", b"<script>alert(1)</script>", b"\xf0\x9f\x92\xa9",
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def byte_mutations(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` with a few splices, deletions and truncations."""
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(("insert", "replace", "delete", "truncate")))
        if op == "truncate":
            data = data[:at]
        elif op == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 40)):]
        else:
            snippet = draw(st.sampled_from(SNIPPETS) | st.binary(min_size=1, max_size=8))
            end = at + (len(snippet) if op == "replace" else 0)
            data = data[:at] + snippet + data[end:]
    return data


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


Mutation = tuple[tuple[Any, ...], Any]  # where in a document, and the value put there


@st.composite
def value_mutations(draw: st.DrawFn, doc: Any) -> Mutation:
    """One value somewhere in `doc` (JSON data), and an arbitrary value to put in its place."""
    path = draw(st.sampled_from(_paths(doc)))
    return path, draw(json_values | st.sampled_from([s.decode("utf-8", "replace") for s in SNIPPETS]))


def mutated(doc: Any, mutation: Mutation) -> Any:
    path, replacement = mutation
    if not path:
        return replacement
    doc = json.loads(json.dumps(doc))
    target = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = replacement
    return doc


# --- the workspace -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace every example copies: one ruleset family, a sample incident, generated exports."""
    root = tmp_path_factory.mktemp("cli-base")
    shutil.copytree(ROOT / "rulesets" / RULESET_ID, root / "rulesets" / RULESET_ID)
    shutil.copy(SAMPLE, root / "incident.json")
    (root / "store").mkdir()
    for fmt in ("jsonl", "csv"):
        code, _, err = run_cli(["generate", "--rulesets", str(root / "rulesets"), "--policy", RULESET_ID,
                                  "--incidents", "12", "--seed", "7", str(root / f"export.{fmt}")])
        assert code == 0, err
    pa = pytest.importorskip("pyarrow")
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pacsv.read_csv(str(root / "export.csv"),
                           convert_options=pacsv.ConvertOptions(strings_can_be_null=False,
                                                                column_types={"incident_id": pa.string()}))
    pq.write_table(table, str(root / "export.parquet"))
    return root


def snapshot(root: Path, skip: Path | None) -> dict[str, str]:
    files = {}
    for p in sorted(root.rglob("*")):
        if skip is not None and (p == skip or skip in p.parents):
            continue
        if p.is_file():
            files[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return files


def commands(ws: Path, target: str) -> list[tuple[list[str], Path | None]]:
    """The commands that read `target` (a file name in the workspace), with their output path."""
    rs = ["--rulesets", str(ws / "rulesets")]
    pin = f"{RULESET_ID}@2021.1.0"
    store = f"sqlite:///{ws / 'store' / 'bwc.db'}"  # the service's store: its folder is the output
    if target == "ruleset":
        return [(["check", str(ws / "rulesets")], None),
                (["test", str(ws / "rulesets")], None),
                (["decide", *rs, "--policy", RULESET_ID, str(ws / "incident.json")], None),
                (["diff", *rs, f"{RULESET_ID}@2016.1.0", pin], None),
                (["diff", *rs, "--format", "html", f"{RULESET_ID}@2016.1.0", pin], None),
                (["log", *rs, RULESET_ID], None),
                (["lint", "--limit", "4", str(ws / "rulesets" / RULESET_ID / "2021.1.0.yaml"), *rs], None),
                (["render", *rs, pin, "--compare", f"{RULESET_ID}@2016.1.0"], None),
                (["render", *rs, "--format", "markdown", pin], None),
                (["score", *rs, pin, f"{RULESET_ID}@2016.1.0"], None),
                (["categories", "export", *rs, "--policy", pin], None),
                (["replay", *rs, "--store", store, "--workers", "1", pin], ws / "store")]
    if target == "scenario":
        return [(["test", str(ws / "rulesets")], None)]
    path = ws / target
    out = ws / "report"
    cmds: list[tuple[list[str], Path | None]] = [
        (["audit", *rs, "--policy", RULESET_ID, "--workers", "1", "--out", str(out), str(path)], out),
        (["import", *rs, "--store", store, "--policy", RULESET_ID, str(path)], ws / "store")]
    if target.endswith((".json", ".jsonl")):
        cmds += [(["decide", *rs, "--policy", RULESET_ID, "--format", fmt, str(path)], None)
                 for fmt in ("text", "json")]
        cmds += [(["explain", *rs, "--policy", RULESET_ID, str(path)], None),
                 (["impact", *rs, "--workers", "1", f"{RULESET_ID}@2016.1.0", pin, str(path)], None)]
    if target.endswith((".csv", ".json")):  # an export is not a category table: refused row by row, never a crash
        cmds.append((["categories", "check", *rs, "--policy", RULESET_ID, str(path)], None))
    return cmds


def check_run(ws: Path, argv: list[str], out: Path | None) -> None:
    before = snapshot(ws, out)
    code, stdout, stderr = run_cli(argv, cwd=ws)
    text = stdout + stderr
    shown = f"bwc {' '.join(argv)}\nexit {code}\n--- stdout\n{stdout[-3000:]}\n--- stderr\n{stderr[-3000:]}"
    assert code in (0, 1, 2), shown
    assert "Traceback" not in text, shown
    assert "internal error" not in text.lower(), shown
    if code != 0:
        assert stderr.strip() or stdout.strip(), shown
    assert snapshot(ws, out) == before, shown


TARGETS = ("ruleset", "scenario", "incident.json", "export.jsonl", "export.csv", "export.parquet")


def _target_file(ws: Path, target: str) -> Path:
    if target == "ruleset":
        return ws / "rulesets" / RULESET_ID / "2021.1.0.yaml"
    if target == "scenario":
        return next((ws / "rulesets" / RULESET_ID / "tests").glob("*.yaml"))
    return ws / target


@settings(max_examples=examples(40), suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                             HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), target=st.sampled_from(TARGETS))
def test_no_command_crashes_on_mutated_bytes(base: Path, data: st.DataObject, target: str) -> None:
    with tempfile.TemporaryDirectory(prefix="bwc-cli-") as tmp:
        ws = Path(tmp) / "ws"
        shutil.copytree(base, ws)
        victim = _target_file(ws, target)
        victim.write_bytes(data.draw(byte_mutations(victim.read_bytes()), label="mutated"))
        argv, out = data.draw(st.sampled_from(commands(ws, target)), label="command")
        check_run(ws, argv, out)


@settings(max_examples=examples(40), suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                             HealthCheck.too_slow])
@given(data=st.data(), jsonl=st.booleans())
def test_no_command_crashes_on_mutated_incidents(base: Path, data: st.DataObject, jsonl: bool) -> None:
    incident = json.loads(SAMPLE.read_text(encoding="utf-8"))
    changed = mutated(incident, data.draw(value_mutations(incident), label="incident"))
    with tempfile.TemporaryDirectory(prefix="bwc-cli-") as tmp:
        ws = Path(tmp) / "ws"
        shutil.copytree(base, ws)
        name = "export.jsonl" if jsonl else "incident.json"
        text = json.dumps(changed, ensure_ascii=data.draw(st.booleans(), label="ascii"))
        if jsonl:  # the mutated incident between two good ones: the good ones must still be decided
            good = json.dumps(incident)
            text = f"{good}\n{text}\n{good}\n"
        (ws / name).write_text(text, encoding="utf-8", errors="surrogatepass")
        argv, out = data.draw(st.sampled_from(commands(ws, name)), label="command")
        check_run(ws, argv, out)


def _ruleset_doc() -> Any:
    from policy.source import read_yaml_text

    # The project's reader, not yaml.safe_load: YAML 1.2 core schema (`on:` stays a string, dates
    # stay text), so the data is JSON and the mutated ruleset differs only where it was mutated.
    path = ROOT / "rulesets" / RULESET_ID / "2021.1.0.yaml"
    return read_yaml_text(path.read_text(encoding="utf-8"), str(path)).data


RULESET_DOC = _ruleset_doc()


@settings(max_examples=examples(25), suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                             HealthCheck.too_slow])
# Found by the fuzz job (seed 20261202): `json.dumps` writes a key 💩 as the escapes \ud83d\udca9,
# which the YAML reader kept as two lone surrogates, and pydantic could not quote the key.
@example(mutation=(("rules", 0, "when", "facts", "in_uniform"), {"\U0001f4a9": 1}), command="check")
@example(mutation=(("declare", "events"), {"\U0001f4a9": None}), command="decide")
@given(mutation=value_mutations(RULESET_DOC),
       command=st.sampled_from(("check", "test", "decide", "diff", "log", "lint")))
def test_no_command_crashes_on_mutated_rulesets(base: Path, mutation: Mutation, command: str) -> None:
    with tempfile.TemporaryDirectory(prefix="bwc-cli-") as tmp:
        ws = Path(tmp) / "ws"
        shutil.copytree(base, ws)
        _target_file(ws, "ruleset").write_text(json.dumps(mutated(RULESET_DOC, mutation)), encoding="utf-8",
                                               errors="surrogatepass")
        argv, out = next(c for c in commands(ws, "ruleset") if c[0][0] == command)
        check_run(ws, argv, out)


def test_the_script_and_the_entry_point_agree(base: Path, tmp_path: Path) -> None:
    """The `bwc` script gives what `run_cli` gives, for a good run and for a refusal."""
    ws = tmp_path / "ws"
    shutil.copytree(base, ws)
    (ws / "bad.jsonl").write_bytes(b'{"id": "x"\n\xff\n')
    for argv in (["decide", "--rulesets", "rulesets", "--policy", RULESET_ID, "incident.json"],
                 ["decide", "--rulesets", "rulesets", "--policy", RULESET_ID, "bad.jsonl"]):
        proc = subprocess.run([str(BWC), *argv], cwd=ws, capture_output=True, text=True, timeout=120)
        code, out, _ = run_cli(argv, cwd=ws)
        assert (proc.returncode, proc.stdout) == (code, out)
        assert "Traceback" not in proc.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_full_disk_under_standard_output_is_said_as_such(tmp_path: Path) -> None:
    example = ROOT / "examples" / "colorado-complaint.json"
    for argv in (["vocabulary"], ["decide", "--rulesets", str(ROOT / "rulesets"), "--policy", "colorado-24-31-902",
                                  str(example)]):
        with open("/dev/full", "w") as full:
            proc = subprocess.run([str(BWC), *argv], cwd=tmp_path, stdout=full, stderr=subprocess.PIPE, text=True,
                                  timeout=120)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
        assert proc.stderr.startswith("error: cannot write standard output: No space left on device"), proc.stderr


def test_a_terminal_that_cannot_show_a_character_gets_its_escape(tmp_path: Path) -> None:
    """On a terminal whose encoding lacks a character bwc prints (✓ on Latin-1), the character is
    escaped; it once ended the output half-way as an internal error (exit 70)."""
    env = {**os.environ, "PYTHONIOENCODING": "latin-1"}
    example = ROOT / "examples" / "colorado-complaint.json"
    for argv in (["explain", "--rulesets", str(ROOT / "rulesets"), "--policy", "colorado-24-31-902", str(example)],
                 ["score", "--rulesets", str(ROOT / "rulesets"), "minnesota-13-825"], ["vocabulary"]):
        proc = subprocess.run([str(BWC), *argv], cwd=tmp_path, capture_output=True, timeout=120, env=env)
        assert proc.returncode == 0 and proc.stderr == b"", (argv, proc.stderr)
        assert b"Traceback" not in proc.stdout and proc.stdout.decode("latin-1")
    assert b"\\u2713 record-calls-for-service: APPLIES" in subprocess.run(
        [str(BWC), "explain", "--rulesets", str(ROOT / "rulesets"), "--policy", "colorado-24-31-902", str(example)],
        capture_output=True, timeout=120, env=env).stdout


@pytest.mark.parametrize("snippet", SNIPPETS, ids=lambda s: s[:12].hex())
def test_each_snippet_in_each_input(base: Path, tmp_path: Path, snippet: bytes) -> None:
    """Every hostile snippet, spliced into the middle of every kind of input, under every command."""
    for target in TARGETS:
        ws = tmp_path / target
        shutil.copytree(base, ws)
        victim = _target_file(ws, target)
        data = victim.read_bytes()
        victim.write_bytes(data[: len(data) // 2] + snippet + data[len(data) // 2:])
        for argv, out in commands(ws, target):
            check_run(ws, argv, out)


# Inputs the issue reported; each must be refused with a message, and the good records still decided.
@pytest.mark.parametrize("line", [
    "[" * 100_000 + "]" * 100_000, '{"id": 1' + "0" * 4400 + "}", '{"id": "\\ud800"}', '{"id": "a", "id": "b"}',
    '{"id": "x", "timezone": "America", "events": [{"type": "arrived", "at": "2024-01-01T00:00:00Z"}]}',
    '{"id": "[/bold]", "timezone": "UTC", "events": [{"type": "nope", "at": "2024-01-01T00:00:00Z"}]}',
    '{"id": "x", "timezone": "UTC", "facts": {"n": NaN}, "events": []}',
])
def test_one_bad_line_never_stops_the_others(base: Path, tmp_path: Path, line: str) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(base, ws)
    good = json.loads(SAMPLE.read_text(encoding="utf-8"))
    lines = [json.dumps({**good, "id": "first"}), line, json.dumps({**good, "id": "last"})]
    (ws / "mixed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = run_cli(["decide", "--rulesets", "rulesets", "--policy", RULESET_ID, "--format", "json",
                              "mixed.jsonl"], cwd=ws)
    assert code == 1, err
    decided = [json.loads(x)["incident_id"] for x in out.splitlines() if x.strip()]
    assert decided == ["first", "last"], (out, err)
    assert "mixed.jsonl:2" in err and "Traceback" not in err
