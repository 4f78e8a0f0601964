"""The broken-ruleset corpus: every kind of mistake is reported at the right place, with a fix hint.

Each file in `tests/corpus/broken/` holds one kind of mistake (one holds several) and states what
`bwc check` must report in header comments:

    # mistake: typo in a top-level key (`titel` for `title`)
    # expect: BWC101 3:1 hint

(diagnostic code, line:column, and whether a fix hint must be shown). Hostile inputs that would be
too big to keep in the repository (alias bombs, deep nesting, huge files, bad bytes) are made here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main
from policy.diagnostics import CODES
from policy.source import MAX_BYTES, MAX_DEPTH

CORPUS = Path(__file__).parent / "corpus" / "broken"
FILES = sorted(CORPUS.glob("*.yaml"))
_EXPECT = re.compile(r"^# expect: (BWC\d{3}) (\d+):(\d+)( hint)?\s*$")
HANG_GUARD = 120  # seconds: only to stop a hung run, never a performance assertion

# Codes that the corpus cannot hold as a file: exercised by the generated cases below instead.
GENERATED_CODES = {"BWC001", "BWC002", "BWC003", "BWC007", "BWC008"}
# Codes about several files checked together (tests/test_repository.py covers them, and
# tests/test_versions_corrections.py those of `corrects`).
REPOSITORY_CODES = {"BWC301", "BWC302", "BWC303", "BWC304", "BWC305", "BWC306", "BWC307", "BWC308", "BWC309"}


@dataclass(frozen=True)
class Expect:
    code: str
    line: int
    column: int
    hint: bool


def expectations(path: Path) -> list[Expect]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        m = _EXPECT.match(line)
        if m:
            out.append(Expect(m[1], int(m[2]), int(m[3]), bool(m[4])))
        else:
            assert not line.startswith("# expect"), f"{path.name}: malformed header {line!r}"
    return out


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result.exit_code, result.output


def run_process(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True,
        timeout=HANG_GUARD, cwd=cwd or Path(__file__).parent.parent, check=False,
    )


def json_diagnostics(output: str) -> list[dict[str, object]]:
    data = json.loads(output)
    assert len(data["files"]) == 1
    assert data["files"][0]["ok"] is False
    diagnostics: list[dict[str, object]] = data["files"][0]["diagnostics"]
    return diagnostics


def _text_blocks(output: str) -> list[str]:
    """The text output split into one block per diagnostic (its line, and its hint line if any)."""
    blocks: list[str] = []
    for line in output.splitlines():
        if line.startswith("    hint: ") and blocks:
            blocks[-1] += "\n" + line
        else:
            blocks.append(line)
    return blocks


def test_corpus_is_large_enough() -> None:
    assert len(FILES) >= 28
    for f in FILES:
        assert expectations(f), f"{f.name} states no `# expect:` line"


def test_corpus_exercises_every_code() -> None:
    seen = {e.code for f in FILES for e in expectations(f)} | GENERATED_CODES | REPOSITORY_CODES
    assert set(CODES) - seen == set()


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_broken_file_text(path: Path) -> None:
    code, output = run_cli("check", str(path))
    assert code == 1, output
    assert "Traceback" not in output
    assert "0 with errors" not in output
    blocks = _text_blocks(output)
    for e in expectations(path):
        where = f"{path}:{e.line}:{e.column}: error {e.code}"
        matching = [b for b in blocks if b.startswith(where)]
        assert matching, f"expected {where}\n--- got ---\n{output}"
        if e.hint:
            assert any("\n    hint: " in b for b in matching), f"no hint for {where}\n{output}"


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_broken_file_json(path: Path) -> None:
    code, output = run_cli("check", "--format", "json", str(path))
    assert code == 1
    diagnostics = json_diagnostics(output)
    got = {(d["code"], d["line"], d["column"]): d for d in diagnostics}
    for e in expectations(path):
        d = got.get((e.code, e.line, e.column))
        assert d is not None, f"expected {e} in {diagnostics}"
        assert d["message"]
        if e.hint:
            assert d["hint"]
    # Every problem of the file is positioned, and none is reported twice.
    for d in diagnostics:
        assert d["line"] is not None, d
    assert len(got) == len(diagnostics)


def test_several_mistakes_reported_in_one_run() -> None:
    path = CORPUS / "several-mistakes.yaml"
    expected = expectations(path)
    assert len(expected) >= 5
    _, output = run_cli("check", "--format", "json", str(path))
    assert len(json_diagnostics(output)) == len(expected)


@pytest.mark.parametrize("name", ["top-key-typo", "tab-indentation", "python-tag", "several-mistakes"])
def test_broken_file_subprocess(name: str) -> None:
    path = CORPUS / f"{name}.yaml"
    proc = run_process("check", str(path))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    for e in expectations(path):
        assert f"{path}:{e.line}:{e.column}: error {e.code}" in proc.stdout


def test_whole_corpus_in_one_run() -> None:
    code, output = run_cli("check", str(CORPUS))
    assert code == 1
    assert "Traceback" not in output
    assert f"{len(FILES)} file(s) checked, {len(FILES)} with errors" in output


# --- hostile input, made on the fly -----------------------------------------------------------------


def _check_hostile(path: Path, code: str, line: int | None = None, column: int | None = None) -> dict[str, object]:
    proc = run_process("check", "--format", "json", str(path))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    diagnostics = json_diagnostics(proc.stdout)
    assert [d["code"] for d in diagnostics] == [code], diagnostics
    d = diagnostics[0]
    assert d["hint"]
    if line is not None:
        assert (d["line"], d["column"]) == (line, column)
    text = run_cli("check", str(path))[1]
    assert "Traceback" not in text
    return d


def test_alias_bomb(tmp_path: Path) -> None:
    lines = ["ruleset: bomb", "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    _check_hostile(path, "BWC008")


def test_alias_that_contains_itself(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("ruleset: loop\nrules: &r\n  - id: a\n    more: *r\n")
    _check_hostile(path, "BWC008", 4, 11)


@pytest.mark.parametrize("opener", ["[", "{a: ", "- "])
def test_nesting_ten_thousand_deep(tmp_path: Path, opener: str) -> None:
    path = tmp_path / "deep.yaml"
    if opener == "- ":
        # block sequences nest on one line: `- - - - x`
        path.write_text("ruleset: deep\nrules:\n" + "- " * 10_000 + "x\n")
    else:
        path.write_text("ruleset: deep\nrules: " + opener * 10_000 + "\n")
    d = _check_hostile(path, "BWC007")
    assert d["line"] == (3 if opener == "- " else 2)
    assert f"{MAX_DEPTH}" in str(d["message"])


def test_fifty_megabyte_file(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as fh:
        fh.write(b"ruleset: huge\nnotes: |\n")
        line = b"  " + b"x" * 1022 + b"\n"
        for _ in range(50 * 1024):
            fh.write(line)
    assert path.stat().st_size > 50_000_000 > MAX_BYTES
    d = _check_hostile(path, "BWC002")
    assert "limit" in str(d["message"])


def test_invalid_utf8_position(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    base = (CORPUS.parent.parent / "corpus" / "broken" / "top-key-typo.yaml").read_text(encoding="utf-8")
    lines = base.splitlines()
    # line 6, after a two-byte character: the column counts characters, not bytes
    lines[5] = "status: adopté"
    raw = "\n".join(lines).encode("utf-8").replace("adopté".encode(), "adopté ".encode() + b"\xe9t\xe9")
    path.write_bytes(raw)
    d = _check_hostile(path, "BWC003", 6, 16)
    assert "0xe9" in str(d["message"])


def test_control_character_position(tmp_path: Path) -> None:
    path = tmp_path / "bell.yaml"
    path.write_text("ruleset: bell\ntitle: ring\x07ring\n", encoding="utf-8")
    _check_hostile(path, "BWC003", 2, 12)


def test_missing_file(tmp_path: Path) -> None:
    code, output = run_cli("check", str(tmp_path / "nowhere.yaml"))
    assert code == 1
    assert "BWC001" in output
    assert "Traceback" not in output


def test_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("FIFOs are a POSIX feature")
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    d = _check_hostile(fifo, "BWC001")  # a hang would stop at HANG_GUARD and fail
    assert "not a regular file" in str(d["message"])


@pytest.mark.parametrize(("folder", "where", "code"), [
    ("overlap", "2.0.0.yaml:5:1", "BWC301"),
    ("extends-range", "district-1.0.0.yaml:8:31", "BWC305"),
    ("extends-self", "1.0.0.yaml:6:1", "BWC306"),
    ("extends-cycle", "a-1.0.0.yaml:6:1", "BWC306"),
    ("extends-cycle", "b-1.0.0.yaml:6:1", "BWC306"),
])
def test_check_runs_the_checks_between_files(folder: str, where: str, code: str) -> None:
    path = CORPUS.parent / "repository" / folder
    exit_code, output = run_cli("check", str(path))
    assert exit_code == 1
    assert f"{path / where}: error {code}" in output, output
    assert "Traceback" not in output
