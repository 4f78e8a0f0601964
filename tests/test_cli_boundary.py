"""The CLI's error boundary: exit codes, signals, a closed pipe and internal errors, run as a user runs
`bwc` (a subprocess of the installed script) where the process matters, and in-process (click's
CliRunner) where a bug has to be planted."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from terminal import from_a_terminal

from engine import cli
from engine.cli.boundary import EXPECTED
from engine.cli.commands import rulesets as rulesets_commands
from engine.io.jsondoc import JsonError

ROOT = Path(__file__).resolve().parent.parent
BWC = str(Path(sys.executable).parent / "bwc")
RULESETS = str(ROOT / "rulesets")
POLICY = "colorado-24-31-902"
SAMPLE = ROOT / "examples" / "colorado-complaint.json"
TRACEBACK = re.compile(r"Traceback|File \"|\bline \d+, in\b")


def _incident(iid: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    data["id"] = iid
    return data


def _jsonl(path: Path, ids: list[str]) -> Path:
    path.write_text("".join(json.dumps(_incident(i)) + "\n" for i in ids), encoding="utf-8")
    return path


def bwc(*args: str, cwd: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([BWC, *args], cwd=cwd, input=stdin, capture_output=True, text=True, timeout=180)
    assert not TRACEBACK.search(proc.stdout + proc.stderr), proc.stderr
    return proc


def decide(*args: str, cwd: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return bwc("decide", "--rulesets", RULESETS, "--policy", POLICY, *args, cwd=cwd, stdin=stdin)


# --- exit codes --------------------------------------------------------------------------------------

def test_a_good_run_exits_0(tmp_path: Path) -> None:
    proc = decide(str(SAMPLE))
    assert proc.returncode == 0
    assert "Incident CO-2024-0117" in proc.stdout


def test_a_usage_error_exits_2() -> None:
    proc = bwc("decide", "--no-such-option")
    assert proc.returncode == 2
    assert "No such option" in proc.stderr


@pytest.mark.parametrize("command", [
    ["decide", "--rulesets", RULESETS, "--policy", POLICY, str(SAMPLE)],
    ["explain", "--rulesets", RULESETS, "--policy", POLICY, str(SAMPLE)],
    ["impact", "--rulesets", RULESETS, f"{POLICY}@2021.1.0", f"{POLICY}@2021.1.0", str(SAMPLE)],
    ["audit", "--rulesets", RULESETS, "--policy", POLICY, str(SAMPLE)],
])
def test_a_bad_as_of_is_a_usage_error_naming_the_option(command: list[str]) -> None:
    proc = bwc(*command, "--as-of", "2024-13-01")
    assert proc.returncode == 2, proc.stderr
    assert "--as-of" in proc.stderr
    assert "2024-13-01" in proc.stderr


def test_an_unknown_ruleset_is_one_line_and_exit_1() -> None:
    proc = bwc("decide", "--rulesets", RULESETS, "--policy", "no-such-ruleset", str(SAMPLE))
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "no-such-ruleset" in proc.stderr


def test_a_missing_input_is_one_line_and_exit_1(tmp_path: Path) -> None:
    proc = decide("missing.jsonl", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "missing.jsonl" in proc.stderr


@pytest.mark.parametrize("command", ["decide", "explain"])
def test_empty_input_is_an_error_unless_allowed(tmp_path: Path, command: str) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    args = [command, "--rulesets", RULESETS, "--policy", POLICY]
    refused = bwc(*args, str(empty))
    assert refused.returncode == 1
    assert f"no incident in {empty}" in refused.stderr
    allowed = bwc(*args, "--allow-empty", str(empty))
    assert (allowed.returncode, allowed.stdout, allowed.stderr) == (0, "", "")


def test_schema_into_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    proc = bwc("schema", "-o", "missing-folder/x.json", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1
    assert "missing-folder" in proc.stderr and "does not exist" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_schema_under_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    proc = bwc("schema", "-o", "file/x.json", cwd=tmp_path)
    assert proc.returncode == 1
    assert "is a file, not a folder" in proc.stderr


def test_audit_out_is_checked_before_any_work(tmp_path: Path) -> None:
    """`--out .` and a folder of the user's are refused at once, untouched: the export given does not
    even exist, so a refusal that came after the work would say so instead."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "export.jsonl").write_text("{}\n", encoding="utf-8")
    args = ["audit", "--rulesets", RULESETS, "--policy", POLICY, "missing.jsonl", "--out"]
    for out, why in ((".", "current folder"), ("data", "holds files bwc did not write")):
        proc = bwc(*args, out, cwd=tmp_path)
        assert proc.returncode == 1, proc.stderr
        assert why in proc.stderr and "missing.jsonl" not in proc.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["data", "export.jsonl"]


def test_generate_checks_its_outputs_before_any_work(tmp_path: Path) -> None:
    args = ["generate", "--rulesets", RULESETS, "--policy", POLICY, "--incidents", "3"]
    same = bwc(*args, "--truth", "x.jsonl", "x.jsonl", cwd=tmp_path)
    assert same.returncode == 2 and "--truth" in same.stderr
    missing = bwc(*args, "--truth", "nowhere/t.jsonl", "x.jsonl", cwd=tmp_path)
    assert missing.returncode == 1 and "nowhere" in missing.stderr
    assert list(tmp_path.iterdir()) == []


# --- reading incidents: one reader, each problem once, streaming ---------------------------------------

def test_decide_reads_what_generate_writes(tmp_path: Path) -> None:
    for name in ("export.jsonl", "export.csv"):
        made = bwc("generate", "--rulesets", RULESETS, "--policy", POLICY, "--incidents", "5", name, cwd=tmp_path)
        assert made.returncode == 0, made.stderr
        proc = decide("--format", "json", name, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert len(proc.stdout.splitlines()) == 5


def test_each_bad_line_is_reported_once_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text(json.dumps(_incident("A")) + "\n{not json\n" + json.dumps(_incident("C")) + "\n",
                    encoding="utf-8")
    proc = decide("--format", "json", str(path))
    assert proc.returncode == 1
    assert [json.loads(line)["incident_id"] for line in proc.stdout.splitlines()] == ["A", "C"]
    assert proc.stderr.count(f"{path}:2") == 1
    assert proc.stderr.count("\n") == 1


def _wait_for_line(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), True)
    deadline = time.monotonic() + timeout
    line = proc.stdout.readline()
    assert line and time.monotonic() < deadline, "no decision was printed before the input ended"
    return line


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_reading_a_pipe_that_never_ends(sig: signal.Signals, code: int) -> None:
    """`bwc decide -` decides each incident as it arrives (the pipe stays open), then is stopped."""
    proc = subprocess.Popen([BWC, "decide", "--rulesets", RULESETS, "--policy", POLICY, "--format", "json", "-"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=from_a_terminal)
    assert proc.stdin is not None and proc.stderr is not None
    try:
        proc.stdin.write(json.dumps(_incident("first")) + "\n")
        proc.stdin.flush()
        assert json.loads(_wait_for_line(proc))["incident_id"] == "first"  # streamed: printed before EOF
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == code
        err = proc.stderr.read()
        assert not TRACEBACK.search(err), err
        assert "interrupted" in err or "terminated" in err
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_a_closed_pipe_ends_the_run_quietly(tmp_path: Path) -> None:
    """`bwc decide ... | head -1`: once the reader has gone, bwc stops, says nothing, exits 141."""
    path = _jsonl(tmp_path / "many.jsonl", [f"I-{n}" for n in range(300)])
    proc = subprocess.Popen([BWC, "decide", "--rulesets", RULESETS, "--policy", POLICY, str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    first = _wait_for_line(proc)
    proc.stdout.close()
    code = proc.wait(timeout=120)
    err = proc.stderr.read()
    proc.stderr.close()
    assert first.startswith("Incident I-0 ")
    assert code == cli.EXIT_PIPE
    assert err == ""


def test_through_a_shell_pipe_head_gets_its_line() -> None:
    shell = f"{BWC} decide --rulesets {RULESETS} --policy {POLICY} {SAMPLE} | head -1"
    proc = subprocess.run(["sh", "-c", shell], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    assert proc.stdout.startswith("Incident CO-2024-0117")
    assert proc.stderr == ""


# --- internal errors ---------------------------------------------------------------------------------

def _saved(output: str) -> Path:
    match = re.search(r"saved to (\S+bwc-internal-error-\S+?\.txt)", output)
    assert match, output
    return Path(match.group(1))


def test_a_bug_for_one_incident_is_reported_on_its_line_and_the_run_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.api import Library

    real = Library.decide

    def buggy(self: Library, ref: str, incident: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(incident, dict) and incident.get("id") == "B":
            raise ZeroDivisionError("planted")
        return real(self, ref, incident, *args, **kwargs)

    monkeypatch.setattr(Library, "decide", buggy)
    path = _jsonl(tmp_path / "three.jsonl", ["A", "B", "C"])
    result = CliRunner().invoke(cli.main, ["decide", "--rulesets", RULESETS, "--policy", POLICY,
                                           "--format", "json", str(path)])
    assert result.exit_code == 1
    assert [json.loads(x)["incident_id"] for x in result.stdout.splitlines()] == ["A", "C"]
    assert f"{path}:2: internal error (ZeroDivisionError)" in result.stderr
    saved = _saved(result.stderr)
    try:
        text = saved.read_text(encoding="utf-8")
        assert "ZeroDivisionError: planted" in text and f"{path}:2" in text
    finally:
        saved.unlink()
    assert "Traceback" not in result.output


def test_a_bug_outside_any_incident_is_an_internal_error_with_a_saved_traceback(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def buggy(paths: Any) -> Any:
        raise KeyError("planted")

    monkeypatch.setattr(rulesets_commands, "check_paths", buggy)
    result = CliRunner().invoke(cli.main, ["check", RULESETS])
    assert result.exit_code == cli.EXIT_INTERNAL
    assert "internal error (KeyError)" in result.stderr
    assert "Traceback" not in result.output
    saved = _saved(result.stderr)
    try:
        assert "KeyError: 'planted'" in saved.read_text(encoding="utf-8")
        assert saved.name.startswith("bwc-internal-error-")
    finally:
        saved.unlink()


def test_expected_errors_are_one_line_not_internal(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "theirs.txt").write_text("x", encoding="utf-8")
    result = CliRunner().invoke(cli.main, ["audit", "--rulesets", RULESETS, "--policy", POLICY,
                                           "--out", str(tmp_path / "out"), str(SAMPLE)])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: will not write a report into")
    assert result.stderr.count("\n") == 1


def _planted(cls: type[Exception]) -> Exception:
    return cls("planted", 1, 1) if cls is JsonError else cls("planted")


@pytest.mark.parametrize("error", EXPECTED, ids=lambda cls: cls.__name__)
def test_each_expected_error_is_one_line_and_exit_1(monkeypatch: pytest.MonkeyPatch, error: type[Exception]) -> None:
    planted = _planted(error)

    def refusing(paths: Any) -> Any:
        raise planted

    monkeypatch.setattr(rulesets_commands, "check_paths", refusing)
    result = CliRunner().invoke(cli.main, ["check", RULESETS])
    assert result.exit_code == cli.EXIT_FAILED
    assert result.stderr == f"error: {planted}\n"


def test_an_expected_error_for_one_incident_is_reported_on_its_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.api import ExportError, Library

    real = Library.decide

    def refusing(self: Library, ref: str, incident: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(incident, dict) and incident.get("id") == "B":
            raise ExportError("planted")
        return real(self, ref, incident, *args, **kwargs)

    monkeypatch.setattr(Library, "decide", refusing)
    path = _jsonl(tmp_path / "three.jsonl", ["A", "B", "C"])
    result = CliRunner().invoke(cli.main, ["decide", "--rulesets", RULESETS, "--policy", POLICY,
                                           "--format", "json", str(path)])
    assert result.exit_code == 1
    assert [json.loads(x)["incident_id"] for x in result.stdout.splitlines()] == ["A", "C"]
    assert result.stderr == f"{path}:2: planted\n"


def test_the_boundary_gives_sigterm_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process runs (tests, embedding programs) get their own SIGTERM handler back afterwards."""
    before = signal.getsignal(signal.SIGTERM)
    CliRunner().invoke(cli.main, ["vocabulary", "--format", "json"])
    assert signal.getsignal(signal.SIGTERM) == before


def test_audit_replaces_its_own_report_and_only_that(tmp_path: Path) -> None:
    made = bwc("generate", "--rulesets", RULESETS, "--policy", POLICY, "--incidents", "20", "export.jsonl",
               cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    args = ["audit", "--rulesets", RULESETS, "--policy", POLICY, "--workers", "1", "--out", "report", "export.jsonl"]
    first = bwc(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "report" / ".bwc-report").is_file()
    again = bwc(*args, cwd=tmp_path)  # a previous report of ours: replaced
    assert again.returncode == 0, again.stderr
    (tmp_path / "report" / "notes.txt").write_text("mine", encoding="utf-8")
    refused = bwc(*args, cwd=tmp_path)  # now it holds a file of the user's: refused, nothing touched
    assert refused.returncode == 1 and "notes.txt" in refused.stderr
    assert (tmp_path / "report" / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert (tmp_path / "export.jsonl").exists()


GENERATE = ["generate", "--policy", "colorado-24-31-902", "--incidents", "2", "--seed", "1"]


@pytest.mark.parametrize("argv", [
    [*GENERATE, "KEEP"],                              # the export
    [*GENERATE, "--truth", "KEEP", "NEW"],            # the truth file, beside a new export
    ["schema", "-o", "KEEP"],
])
def test_a_file_already_there_is_never_replaced_without_overwrite(tmp_path: Path, argv: list[str]) -> None:
    keep, new = tmp_path / "precious.jsonl", tmp_path / "new.jsonl"
    keep.write_text("precious\n", encoding="utf-8")
    argv = [{"KEEP": str(keep), "NEW": str(new)}.get(a, a) for a in argv]
    proc = bwc(*argv)
    assert proc.returncode == 1, proc.stderr
    assert "already exists: give --overwrite" in proc.stderr and "Traceback" not in proc.stderr
    assert keep.read_text(encoding="utf-8") == "precious\n"
    assert not new.exists()
    proc = bwc(argv[0], "--overwrite", *argv[1:])
    assert proc.returncode == 0, proc.stderr
    assert keep.read_text(encoding="utf-8") != "precious\n"


def test_every_command_is_registered_under_its_own_name() -> None:
    """Commands are imported when run (engine.cli.lazy): the registries (`bwc`'s and `bwc log`'s) name
    every command each module defines in its `__all__`, each under the name the command gives itself."""
    import importlib
    import pkgutil

    import click

    from engine.cli import commands
    registered = {item for group in (cli.main, rulesets_commands.log_group)
                  for item in group.lazy.items()}
    defined = set()
    for info in pkgutil.iter_modules(commands.__path__):
        module = importlib.import_module(f"engine.cli.commands.{info.name}")
        defined |= {(command.name, f"{module.__name__}:{attribute}") for attribute in module.__all__
                    if isinstance(command := getattr(module, attribute), click.Command)}
    assert registered == defined


def test_a_command_imports_only_its_own_module() -> None:
    probe = ("import sys\n"
             "from engine.cli import main\n"
             f"code = main(['decide', '--rulesets', {RULESETS!r}, '--policy', {POLICY!r}, {str(SAMPLE)!r}],"
             " standalone_mode=False)\n"
             "print(code, sorted(m for m in sys.modules if m.startswith('engine.cli.commands.')))\n")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False, cwd=ROOT)
    assert proc.stdout.splitlines()[-1] == "0 ['engine.cli.commands.decide']", proc.stderr


def test_an_interrupted_import_says_what_it_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`bwc import` commits as it goes: interrupted, it once said "nothing was written" over thousands of
    stored incidents. It says they stay stored; the next command interrupted says "nothing" again."""
    from engine.service import imports

    def stopped(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(imports, "import_export", stopped)
    path = _jsonl(tmp_path / "one.jsonl", ["A"])
    argv = ["import", "--rulesets", RULESETS, "--policy", POLICY, "--store", f"sqlite:///{tmp_path / 'bwc.db'}",
            str(path)]
    result = CliRunner().invoke(cli.main, argv)
    assert result.exit_code == cli.EXIT_INTERRUPTED
    assert result.stderr.strip() == ("bwc: interrupted; the incidents stored before it stay stored; import the "
                                     "export again to store the rest (those stored are skipped)")

    def interrupted(paths: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(rulesets_commands, "check_paths", interrupted)
    result = CliRunner().invoke(cli.main, ["check", RULESETS])
    assert result.exit_code == cli.EXIT_INTERRUPTED and result.stderr.strip() == "bwc: interrupted; nothing was written"


def test_import_makes_no_store_for_an_unknown_ruleset_or_a_missing_export(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'typo.db'}"
    path = _jsonl(tmp_path / "one.jsonl", ["A"])
    for policy, export, says in ((f"{POLICY}-typo", str(path), "no ruleset"),
                                 (POLICY, str(tmp_path / "missing.jsonl"), "no such file")):
        result = CliRunner().invoke(cli.main, ["import", "--rulesets", RULESETS, "--policy", policy, "--store",
                                               store, export])
        assert result.exit_code == 1 and says in result.stderr and "no store at" not in result.stderr, result.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == ["one.jsonl"]
    result = CliRunner().invoke(cli.main, ["import", "--rulesets", RULESETS, "--policy", POLICY, "--store", store,
                                           str(path)])
    assert result.exit_code == 0, result.stderr


def test_a_ruleset_file_is_read_where_there_is_no_rulesets_folder(tmp_path: Path) -> None:
    """Outside a repository, `render FILE`, `score FILE` and `diff FILE FILE` ended with "Path 'rulesets' does
    not exist" (exit 2), though a file needs no folder; an id says why it cannot be found."""
    old, new = (str(ROOT / "rulesets" / "colorado-24-31-902" / f"{v}.yaml") for v in ("2021.1.0", "2021.2.0"))
    for argv in (["render", new, "--format", "markdown"], ["score", new], ["diff", old, new]):
        done = bwc(*argv, cwd=tmp_path)
        assert done.returncode == 0 and "colorado-24-31-902@2021.2.0" in done.stdout, (argv, done.stderr)
    done = bwc("decide", "--policy", POLICY, str(SAMPLE), cwd=tmp_path)
    assert done.returncode == 1 and "no --rulesets was given, and there is no `rulesets` folder here" in done.stderr
    assert "it holds no ruleset at all" in done.stderr and "vocabulary" not in done.stderr  # not a list of events
    done = bwc("decide", "--rulesets", "nope", "--policy", POLICY, str(SAMPLE), cwd=tmp_path)
    assert done.returncode == 2 and "Path 'nope' does not exist" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    here = CliRunner().invoke(cli.main, ["decide", "--policy", f"{POLICY}-typo", str(SAMPLE)])  # in the repository
    assert here.exit_code == 1 and "no --rulesets" not in here.stderr
