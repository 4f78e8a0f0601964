"""engine.io.output: files written whole or not at all, report folders that replace only our own reports,
and outputs checked before any work starts."""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.io import output
from engine.io.output import (
    MARKER,
    OutputError,
    check_output_file,
    check_report_folder,
    open_atomic,
    replace_report_folder,
    terminal_text,
    write_text_atomic,
)


def _fill(text: str = "new") -> Callable[[Path], None]:
    def fill(folder: Path) -> None:
        (folder / "summary.json").write_text(text, encoding="utf-8")
        (folder / "findings.csv").write_text("a,b\n", encoding="utf-8")
    return fill


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- report folders ----------------------------------------------------------------------------------

def test_a_new_folder_gets_the_report_and_the_marker(tmp_path: Path) -> None:
    out = tmp_path / "deeper" / "report"  # a missing parent is created, as `bwc audit --out a/b` always did
    replace_report_folder(out, _fill())
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "findings.csv", "summary.json"]
    assert "findings.csv" in (out / MARKER).read_text(encoding="utf-8")
    assert [p.name for p in out.parent.iterdir()] == ["report"]  # no temporary folder left beside it


def test_an_empty_folder_is_used(tmp_path: Path) -> None:
    out = tmp_path / "report"
    out.mkdir()
    replace_report_folder(out, _fill())
    assert (out / "summary.json").read_text(encoding="utf-8") == "new"


def test_a_previous_report_is_replaced_whole(tmp_path: Path) -> None:
    out = tmp_path / "report"
    replace_report_folder(out, _fill("old"))

    def fewer(folder: Path) -> None:
        (folder / "summary.json").write_text("new", encoding="utf-8")

    replace_report_folder(out, fewer)
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "summary.json"]  # findings.csv of the old one gone
    assert (out / "summary.json").read_text(encoding="utf-8") == "new"


@pytest.mark.parametrize("foreign", ["export.jsonl", "notes/todo.txt"])
def test_a_folder_of_someone_else_is_refused_untouched(tmp_path: Path, foreign: str) -> None:
    out = tmp_path / "data"
    (out / foreign).parent.mkdir(parents=True)
    (out / foreign).write_text("the user's", encoding="utf-8")
    before = _tree(tmp_path)
    with pytest.raises(OutputError, match=r"holds files bwc did not write .*give an empty or new folder"):
        check_report_folder(out)
    with pytest.raises(OutputError, match=r"holds files bwc did not write .*give an empty or new folder"):
        replace_report_folder(out, _fill())
    assert _tree(tmp_path) == before


def test_a_previous_report_the_user_added_a_file_to_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "report"
    replace_report_folder(out, _fill())
    (out / "my-notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(OutputError, match=r"my-notes\.txt"):
        replace_report_folder(out, _fill())
    assert (out / "my-notes.txt").read_text(encoding="utf-8") == "keep me"


def test_a_marker_not_written_by_bwc_does_not_make_a_folder_ours(tmp_path: Path) -> None:
    out = tmp_path / "report"
    out.mkdir()
    (out / MARKER).write_text("anything\n", encoding="utf-8")
    (out / "export.csv").write_text("x", encoding="utf-8")
    with pytest.raises(OutputError, match=r"export\.csv"):
        check_report_folder(out)


def test_the_current_folder_and_its_parents_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for given in (".", "..", str(work), "./"):
        with pytest.raises(OutputError, match="current folder"):
            check_report_folder(given)
    with pytest.raises(OutputError, match="root of the file system"):
        check_report_folder("/")


def test_a_file_in_the_way_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("keep", encoding="utf-8")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        check_report_folder(tmp_path / "x")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        check_report_folder(tmp_path / "x" / "report")  # a parent that is a file
    assert (tmp_path / "x").read_text(encoding="utf-8") == "keep"


def test_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(OutputError, match="symbolic link"):
        check_report_folder(tmp_path / "link")


def test_the_old_report_stays_when_writing_fails_midway(tmp_path: Path) -> None:
    out = tmp_path / "report"
    replace_report_folder(out, _fill("old"))
    before = _tree(tmp_path)

    def failing(folder: Path) -> None:
        (folder / "summary.json").write_text("half", encoding="utf-8")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError):
        replace_report_folder(out, failing)
    assert _tree(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # the temporary folder is gone

    def interrupted(folder: Path) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        replace_report_folder(out, interrupted)
    assert _tree(tmp_path) == before


def test_the_old_report_comes_back_if_the_final_rename_fails(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "report"
    replace_report_folder(out, _fill("old"))
    before = _tree(tmp_path)
    real = os.replace

    def flaky(src: str | Path, dst: str | Path) -> None:
        if Path(src).name.endswith(".tmp") and Path(dst) == out:
            raise OSError(errno.EIO, "Input/output error")
        real(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    with pytest.raises(OutputError, match="report"):
        replace_report_folder(out, _fill("new"))
    assert _tree(tmp_path) == before


def test_an_interrupt_between_the_two_renames_puts_the_old_report_back(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "report"
    replace_report_folder(out, _fill("old"))
    before = _tree(tmp_path)
    real = os.replace

    def interrupted_after(src: str | Path, dst: str | Path) -> None:
        real(src, dst)
        if Path(src) == out:  # the previous report moved aside; Ctrl-C before the new one takes its place
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted_after)
    with pytest.raises(KeyboardInterrupt):
        replace_report_folder(out, _fill("new"))
    assert _tree(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # nothing left aside, no temporary folder


def _before_the_swap(monkeypatch: pytest.MonkeyPatch, intrude: Callable[[], object]) -> None:
    """Run `intrude` once the check just before the swap has passed (the second check of a replacement)."""
    real_check = output.check_report_folder
    calls = []

    def check_then_intrude(path: Path | str) -> None:
        real_check(path)
        calls.append(path)
        if len(calls) == 2:
            intrude()

    monkeypatch.setattr(output, "check_report_folder", check_then_intrude)


def test_a_file_added_after_the_last_check_is_never_deleted(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # The race: someone writes into the previous report between the last check and the swap. The old
    # folder is then moved aside with that file in it; only the files the report wrote are removed.
    out = tmp_path / "report"
    replace_report_folder(out, _fill("old"))
    _before_the_swap(monkeypatch, lambda: (out / "mine.txt").write_text("keep me", encoding="utf-8"))
    replace_report_folder(out, _fill("new"))
    assert (out / "summary.json").read_text(encoding="utf-8") == "new"
    kept = [p for p in tmp_path.rglob("mine.txt")]
    assert [p.read_text(encoding="utf-8") for p in kept] == ["keep me"]
    assert kept[0].parent != out and not (kept[0].parent / "summary.json").exists()


def test_an_edited_marker_never_reaches_outside_the_report(tmp_path: Path) -> None:
    # A MARKER edited to list `../victim` or an absolute path: replacing the report removes neither.
    out = tmp_path / "report"
    replace_report_folder(out, _fill("old"))
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "data.txt").write_text("keep", encoding="utf-8")
    marker = out / output.MARKER
    marker.write_text(marker.read_text(encoding="utf-8") + f"../victim\n{victim}\n", encoding="utf-8")
    replace_report_folder(out, _fill("new"))
    assert (out / "summary.json").read_text(encoding="utf-8") == "new"
    assert (victim / "data.txt").read_text(encoding="utf-8") == "keep"


def test_a_listed_file_replaced_by_a_folder_is_refused_untouched(tmp_path: Path) -> None:
    # The tester's case: `findings.csv` of a previous report deleted and a folder of notes made in its
    # place. A report writes only files, so the folder is the user's: refused, nothing moved or removed.
    out = tmp_path / "report"
    replace_report_folder(out, _fill("old"))
    (out / "findings.csv").unlink()
    (out / "findings.csv").mkdir()
    (out / "findings.csv" / "notes.txt").write_text("precious", encoding="utf-8")
    before = _tree(tmp_path)
    why = r"findings\.csv is now a folder, where the previous report wrote a file.*give an empty or new folder"
    with pytest.raises(OutputError, match=why):
        check_report_folder(out)
    filled: list[Path] = []
    with pytest.raises(OutputError, match=why):
        replace_report_folder(out, lambda folder: filled.append(folder))
    assert filled == []  # refused before any work: no new report half-made
    assert _tree(tmp_path) == before
    assert (out / "findings.csv" / "notes.txt").read_text(encoding="utf-8") == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # nothing moved aside, no temporary folder


def test_a_listed_file_replaced_by_a_link_is_refused_and_never_followed(tmp_path: Path) -> None:
    out = tmp_path / "report"
    replace_report_folder(out, _fill("old"))
    outside = tmp_path / "mine.csv"
    outside.write_text("the user's", encoding="utf-8")
    (out / "findings.csv").unlink()
    (out / "findings.csv").symlink_to(outside)
    with pytest.raises(OutputError, match=r"findings\.csv is now a symbolic link"):
        replace_report_folder(out, _fill("new"))
    assert (out / "findings.csv").is_symlink() and os.readlink(out / "findings.csv") == str(outside)
    assert outside.read_text(encoding="utf-8") == "the user's"
    assert (out / "summary.json").read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.csv", "report"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_listed_file_replaced_by_a_pipe_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "report"
    replace_report_folder(out, _fill("old"))
    (out / "summary.json").unlink()
    os.mkfifo(out / "summary.json")
    with pytest.raises(OutputError, match=r"summary\.json is now a device, a pipe or a socket"):
        replace_report_folder(out, _fill("new"))
    assert (out / "summary.json").exists() and not (out / "summary.json").is_file()


def test_a_listed_file_since_deleted_is_no_reason_to_refuse(tmp_path: Path) -> None:
    out = tmp_path / "report"
    replace_report_folder(out, _fill("old"))
    (out / "findings.csv").unlink()
    replace_report_folder(out, _fill("new"))
    assert (out / "summary.json").read_text(encoding="utf-8") == "new"


@pytest.mark.parametrize("kind", ["folder", "link"])
def test_a_folder_or_link_put_at_a_listed_name_after_the_last_check_is_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    # The race, as above, but at a name the report wrote: neither the folder's file nor the link (nor
    # what it points to) is removed; the previous report stays aside, hidden, holding them.
    out = tmp_path / "report"
    replace_report_folder(out, _fill("old"))
    outside = tmp_path / "mine.csv"
    outside.write_text("the user's", encoding="utf-8")

    def intrude() -> None:
        (out / "findings.csv").unlink()
        if kind == "folder":
            (out / "findings.csv").mkdir()
            (out / "findings.csv" / "notes.txt").write_text("precious", encoding="utf-8")
        else:
            (out / "findings.csv").symlink_to(outside)

    _before_the_swap(monkeypatch, intrude)
    replace_report_folder(out, _fill("new"))
    assert (out / "summary.json").read_text(encoding="utf-8") == "new"
    assert outside.read_text(encoding="utf-8") == "the user's"
    aside = [p for p in tmp_path.iterdir() if p.name.endswith(".old")]
    assert len(aside) == 1 and not (aside[0] / "summary.json").exists()  # the files bwc wrote are gone
    if kind == "folder":
        assert (aside[0] / "findings.csv" / "notes.txt").read_text(encoding="utf-8") == "precious"
    else:
        assert os.readlink(aside[0] / "findings.csv") == str(outside)


# --- single files ------------------------------------------------------------------------------------

def test_check_output_file_accepts_a_new_file_and_an_existing_one_only_when_told(tmp_path: Path) -> None:
    check_output_file(tmp_path / "new.json")
    (tmp_path / "old.json").write_text("{}", encoding="utf-8")
    with pytest.raises(OutputError, match=r"already exists: give --overwrite"):
        check_output_file(tmp_path / "old.json")
    check_output_file(tmp_path / "old.json", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.json"]  # the probe file is gone
    assert (tmp_path / "old.json").read_text(encoding="utf-8") == "{}"


@pytest.mark.parametrize(("make", "why"), [
    (lambda t: t / "missing" / "x.json", "does not exist"),
    (lambda t: t / "afile" / "x.json", "is a file, not a folder"),
    (lambda t: t, "it is a folder"),
])
def test_check_output_file_refuses(tmp_path: Path, make: Callable[[Path], Path], why: str) -> None:
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    with pytest.raises(OutputError, match=why):
        check_output_file(make(tmp_path))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is a Linux folder")
def test_check_output_file_refuses_a_name_ending_with_a_slash(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="it is a folder; give a file name"):
        check_output_file(f"{tmp_path}/new.html/")  # no such folder: not written as a file `new.html`
    assert list(tmp_path.iterdir()) == []


def test_check_output_file_refuses_a_folder_no_one_can_write() -> None:
    """/proc refuses new files even to root (the tests run as root, which passes permission bits)."""
    with pytest.raises(OutputError, match="cannot create files in /proc"):
        check_output_file("/proc/bwc-schema.json")
    with pytest.raises(OutputError, match="cannot create files in /proc"):
        check_report_folder("/proc/bwc-report")


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True,
                    reason="root writes into read-only folders; the /proc test covers the check for root")
def test_check_output_file_refuses_a_read_only_folder(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="permission denied"):
            check_output_file(ro / "x.json")
    finally:
        ro.chmod(0o755)


def test_check_output_file_refuses_a_device() -> None:
    with pytest.raises(OutputError, match="not a regular file"):
        check_output_file(os.devnull)


def test_a_write_that_fails_midway_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.json"
    target.write_text("previous", encoding="utf-8")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError, match=r"cannot write .*out.json: the disk is full; nothing was written"):
        write_text_atomic(target, "new text")
    assert target.read_text(encoding="utf-8") == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_open_atomic_writes_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "stream.csv"
    with pytest.raises(KeyboardInterrupt), open_atomic(target) as fh:
        fh.write("a,b\n")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    with open_atomic(target) as fh:
        fh.write("a,b\n")
        fh.write("1,2\n")
    assert target.read_text(encoding="utf-8") == "a,b\n1,2\n"
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


@pytest.mark.parametrize("links", [True, False], ids=["hard-links", "no-hard-links"])
def test_a_file_that_appears_while_writing_is_kept_unless_replacing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   links: bool) -> None:
    """`check_output_file` looks before the work; a file written at the name meanwhile (another program,
    a second run with the same --out) is never replaced without --overwrite, also where the file system
    has no hard links (the name is then claimed by an exclusive create)."""
    if not links:
        def no_link(src: Any, dst: Any) -> None:
            raise OSError(errno.EPERM, "Operation not permitted")
        monkeypatch.setattr(os, "link", no_link)
    target = tmp_path / "out.html"
    with pytest.raises(OutputError, match=r"appeared while bwc was writing it.*--overwrite"), \
            open_atomic(target, replace=False) as fh:
        fh.write("ours")
        target.write_text("USER DATA", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "USER DATA"
    assert [p.name for p in tmp_path.iterdir()] == ["out.html"]  # no temporary file left
    target.unlink()
    write_text_atomic(target, "ours", replace=False)  # nothing there: written
    assert target.read_text(encoding="utf-8") == "ours" and oct(target.stat().st_mode & 0o777) != "0o600"
    with open_atomic(target) as fh:  # replacing, as --overwrite asks
        fh.write("again")
        target.write_text("USER DATA", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "again"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.html"]


def test_a_failed_publish_removes_only_the_name_it_claimed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without hard links the name is claimed by an exclusive create; if the rename onto it then fails, the
    claimed empty file is removed, but never a file someone put at the name in between."""
    def no_link(src: Any, dst: Any) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_link)
    target = tmp_path / "out.txt"
    real_replace = os.replace

    def failing(swap: bool) -> Callable[[Any, Any], None]:
        def replace(src: Any, dst: Any) -> None:
            if Path(dst) == target:
                if swap:  # another program replaces the claimed file with its own, then the rename fails
                    (tmp_path / "theirs").write_text("USER DATA", encoding="utf-8")
                    real_replace(tmp_path / "theirs", target)
                raise OSError(errno.EIO, "Input/output error")
            real_replace(src, dst)
        return replace

    for swap in (False, True):
        monkeypatch.setattr(os, "replace", failing(swap))
        with pytest.raises(OutputError):
            write_text_atomic(target, "ours", replace=False)
        assert [p.name for p in tmp_path.iterdir()] == (["out.txt"] if swap else [])
    assert target.read_text(encoding="utf-8") == "USER DATA"


def test_the_commands_never_replace_a_file_written_while_they_ran(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from engine.cli import main
    from engine.cli.commands import rulesets

    target = tmp_path / "schema.json"

    def meanwhile() -> str:  # the schema is made after the check, before the write: a file appears then
        target.write_text("USER DATA", encoding="utf-8")
        return "{}\n"

    monkeypatch.setattr(rulesets, "ruleset_schema_json", meanwhile)
    result = CliRunner().invoke(main, ["schema", "-o", str(target)])
    assert result.exit_code == 1 and "appeared while bwc was writing it" in result.output, result.output
    assert target.read_text(encoding="utf-8") == "USER DATA"
    result = CliRunner().invoke(main, ["schema", "-o", str(target), "--overwrite"])
    assert result.exit_code == 0 and target.read_text(encoding="utf-8") == "{}\n"


def test_open_atomic_names_the_target_when_a_write_fails(tmp_path: Path) -> None:
    target = tmp_path / "big.csv"

    with pytest.raises(OutputError, match=r"big\.csv: the disk is full"), open_atomic(target) as fh:
        raw: Any = fh.buffer

        def boom(b: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        raw.write = boom
        fh.write("x" * 100_000)  # more than the text buffer: reaches the failing raw write
        fh.flush()
    assert list(tmp_path.iterdir()) == []


def test_a_symlinked_file_is_written_through(tmp_path: Path) -> None:
    (tmp_path / "real.json").write_text("old", encoding="utf-8")
    (tmp_path / "link.json").symlink_to(tmp_path / "real.json")
    write_text_atomic(tmp_path / "link.json", "new")
    assert (tmp_path / "link.json").is_symlink()
    assert (tmp_path / "real.json").read_text(encoding="utf-8") == "new"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- text for a terminal -------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "shown"), [
    ("plain [/bold] text", "plain [/bold] text"),
    ("a\x1b[31mred", "a\\u001b[31mred"),
    ("title\x1b]0;pwned\x07", "title\\u001b]0;pwned\\u0007"),
    ("csi\x9b2J", "csi\\u009b2J"),
    ("over\rwrite", "over\\u000dwrite"),
    ("back\x08space\x7f", "back\\u0008space\\u007f"),
    ("bidi \u202egnp.exe", "bidi \\u202egnp.exe"),
    ("isolate \u2066x\u2069", "isolate \\u2066x\\u2069"),
    ("line\u2028sep", "line\\u2028sep"),
    ("lone \udc80 surrogate", "lone \\udc80 surrogate"),
    ("keeps\nnewlines\tand tabs, é and 漢字", "keeps\nnewlines\tand tabs, é and 漢字"),
])
def test_terminal_text_escapes_what_a_terminal_would_obey(raw: str, shown: str) -> None:
    assert terminal_text(raw) == shown
    assert terminal_text(shown) == shown  # escaping twice changes nothing


def test_terminal_text_keeps_json_valid_and_equal() -> None:
    """JSON output goes through the same function: its escapes are JSON escapes of the same characters."""
    import json

    value = {"id": "a\x1b[2J \x9b \u202e \udc80 \u2028 [/bold] \\x1b"}
    text = json.dumps(value, ensure_ascii=False)
    assert json.loads(terminal_text(text)) == value
