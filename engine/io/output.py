"""Writing outputs: the one mechanism every command uses to put files on disk.

Files are written whole or not at all (a temporary file beside the target, then a rename), and
whatever a command will write is checked *before* its work starts, so that a missing folder, a
read-only disk or a path that is a file is reported at once in one line, not after an hour-long
audit as a traceback.

A report folder (`bwc audit --out DIR`) is replaced whole, and only when it is ours: an absent or
empty folder, or a folder holding the MARKER file a previous report left, listing the files it
wrote. Anything else in the way (`--out .`, a folder of exports, a previous report to which the
user has added files) is refused and left untouched: bwc never deletes a file it did not write.
A report holds regular files only (no subfolders, no links), so a listed name that is now anything
else (a folder, a symbolic link, a pipe) is someone else's, and is refused the same way.
"""

from __future__ import annotations

import errno
import io
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TextIO

from policy.values import quoted, quoted_path

MARKER = ".bwc-report"
_MARKER_HEAD = "bwc report folder: bwc replaces this folder whole on the next run writing to it.\n" \
               "Files it wrote (a folder holding any other file is never replaced):\n"
_SHOWN = 5  # foreign names listed in a refusal; the rest are counted


class OutputError(Exception):
    """An output cannot be written: the message names the path and says why, in one line."""


def _why(exc: OSError) -> str:
    """The plain reason of an OS error (`No space left on device`), without the errno prefix."""
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno == errno.EROFS:
        return "the disk is read-only"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return exc.strerror or str(exc)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _target(path: Path | str) -> Path:
    """The file a write to `path` lands in: through a symbolic link, so the link itself is kept."""
    target = Path(path)
    return Path(os.path.realpath(target)) if target.is_symlink() else target


def _writable_folder(folder: Path, what: Path) -> None:
    """Raise OutputError unless a file can be created in `folder` (which `what` needs).

    Root passes every permission check, so the answer comes from trying: a probe file is created
    and removed at once. That also catches read-only mounts and folders of special file systems.
    """
    if not folder.exists():
        raise OutputError(f"cannot write {quoted_path(what)}: the folder {quoted_path(folder)} does not exist; "
                          "create it first or choose another path")
    if not folder.is_dir():
        raise OutputError(f"cannot write {quoted_path(what)}: {quoted_path(folder)} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".bwc-probe-", dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write {quoted_path(what)}: cannot create files in {quoted_path(folder)} "
                          f"({_why(exc)})") from None
    os.close(fd)
    Path(probe).unlink(missing_ok=True)


def check_output_file(path: Path | str, *, overwrite: bool = False, flag: str = "--overwrite") -> None:
    """Before work starts: `path` can be written as a file (its folder exists and is writable, and
    `path` is not a folder or a device). An existing file is replaced only when `overwrite` is given:
    a file of the user's is never lost to a command line that named it by mistake. Raises OutputError
    with a one-line message (naming `flag`, the option that allows replacing)."""
    given = Path(path)
    target = _target(given)
    if target.is_dir() or str(path).endswith(("/", os.sep)):  # `out/new.html/`: a folder meant, Path drops the /
        raise OutputError(f"cannot write {quoted_path(str(path))}: it is a folder; give a file name")
    if target.exists() and not target.is_file():
        raise OutputError(f"cannot write {quoted_path(given)}: it exists and is not a regular file "
                          "(a device, a pipe or a socket)")
    if target.exists() and not overwrite:
        raise OutputError(f"{quoted_path(given)} already exists: give {flag} to replace it, or another name")
    _writable_folder(target.absolute().parent, given)


@contextmanager
def _converted(path: Path) -> Iterator[None]:
    """OS errors while writing `path` (a full disk, mid-way) become one OutputError naming it."""
    try:
        yield
    except OSError as exc:
        raise _write_error(path, exc) from exc


def _write_error(path: Path, exc: OSError) -> OutputError:
    return OutputError(f"cannot write {quoted_path(path)}: {_why(exc)}; nothing was written there")


class _AtomicText(io.TextIOWrapper):
    """The temporary file handed to the with-block of `open_atomic`: a write that fails (the disk
    fills up mid-way) raises OutputError naming the real target, not an anonymous OSError."""

    target: Path

    def write(self, s: str) -> int:
        # try/except, not `_converted`: a report writes a line at a time, and a context manager per
        # line cost more than the write itself.
        try:
            return super().write(s)
        except OSError as exc:
            raise _write_error(self.target, exc) from exc

    def flush(self) -> None:
        with _converted(self.target):
            super().flush()


def _publish(tmp: str, target: Path, replace: bool, flag: str) -> None:
    """Put the finished temporary file in place. Without `replace`, a file at `target` is never
    replaced, even one that appeared while the work ran (`check_output_file` looked before it began):
    a hard link fails if the name is taken, atomically; where the file system has no hard links, the
    name is claimed with an exclusive create first."""
    if replace:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise _appeared(target, flag) from None
    except OSError:  # no hard links here (FAT, some network shares): claim the name, then rename onto it
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise _appeared(target, flag) from None
        claimed = os.fstat(fd)
        os.close(fd)
        try:
            os.replace(tmp, target)
        except BaseException:
            with suppress(OSError):  # the empty file claimed above, and only while it is still that file
                found = os.stat(target, follow_symlinks=False)
                if (found.st_dev, found.st_ino) == (claimed.st_dev, claimed.st_ino):
                    os.unlink(target)
            raise
        return
    os.unlink(tmp)


def _appeared(target: Path, flag: str) -> OutputError:
    return OutputError(f"{quoted_path(target)} appeared while bwc was writing it (another program or run "
                       f"wrote it): it was left as it is; give {flag} to replace it, or another name")


@contextmanager
def open_atomic(path: Path | str, *, replace: bool = True, flag: str = "--overwrite") -> Iterator[TextIO]:
    """Stream text into `path`: written to a temporary file beside it, put into place only when the
    with-block ends normally; removed on any exception (KeyboardInterrupt included), leaving any
    previous `path` as it was. UTF-8, `\\n` line ends. `replace=False`: a file at `path` when the
    block ends (one that appeared meanwhile) is kept, and OutputError (naming `flag`) is raised."""
    target = _target(path)
    with _converted(target):
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.absolute().parent)
    try:
        raw = os.fdopen(fd, "wb")
        fh = _AtomicText(raw, encoding="utf-8", newline="\n")
        fh.target = target
        try:
            yield fh
            fh.flush()
            with _converted(target):
                os.fsync(fh.fileno())
        finally:
            with suppress(OutputError):  # the first error is the one raised; a failed close only repeats it
                fh.close()
        with _converted(target):
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file the usual permissions
            _publish(tmp, target, replace, flag)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path | str, text: str, *, replace: bool = True, flag: str = "--overwrite") -> None:
    """Write `text` to `path` so that readers see either the old file or the complete new one
    (`replace=False`: never over a file there, as `open_atomic`)."""
    with open_atomic(path, replace=replace, flag=flag) as fh:
        fh.write(text)


def _marker_names(folder: Path) -> set[str] | None:
    """The names a previous report in `folder` says it wrote, or None if `folder` holds no MARKER."""
    marker = folder / MARKER
    if marker.is_symlink() or not marker.is_file():
        return None
    try:
        text = marker.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if not text.startswith(_MARKER_HEAD):
        return None
    # Only plain names of entries in the folder: a MARKER edited to list `../x` or `/x` names nothing.
    return {line for line in text[len(_MARKER_HEAD):].splitlines()
            if line and line not in (".", "..") and "/" not in line and os.sep not in line and "\0" not in line}


def _foreign(folder: Path) -> list[str]:
    """The entries of `folder` that are not ours: all of them unless a MARKER lists them."""
    names = sorted(os.listdir(folder))
    ours = _marker_names(folder)
    if ours is None:
        return names
    return [n for n in names if n != MARKER and n not in ours]


def _not_a_file(entry: Path) -> str | None:
    """What `entry` is if it exists and is not a regular file (`a folder`, `a symbolic link`), else None.
    Never follows a link: a link is reported as one, whatever it points to."""
    try:
        mode = os.lstat(entry).st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "a device, a pipe or a socket"


def _changed(folder: Path) -> list[str]:
    """The entries of `folder` its MARKER lists that are no longer what bwc wrote there, each with what
    it is now (`findings.csv is now a folder`). A report writes regular files only, so a folder put at
    a listed name holds someone's files and a link points at someone's file: replacing the report
    would take them away, so they are refused like any file bwc did not write. A listed file since
    deleted is no loss and no reason to refuse."""
    listed = (_marker_names(folder) or set()) & set(os.listdir(folder))
    return [f"{quoted(n)} is now {kind}" for n in sorted(listed) if (kind := _not_a_file(folder / n))]


def _inside(folder: Path, other: Path) -> bool:
    return folder == other or folder in other.parents


def check_report_folder(path: Path | str) -> None:
    """Before work starts: `path` may receive a report folder. It is absent, an empty folder, or a
    previous bwc report (MARKER, no file the report did not write, and each file it wrote still a
    regular file or gone); the nearest existing folder above it is writable. Anything else raises
    OutputError and nothing is touched."""
    given = Path(path)
    folder = Path(os.path.abspath(given))
    if folder.parent == folder:
        raise OutputError(f"cannot write a report into {quoted_path(given)}: it is the root of the file system")
    if _inside(folder, Path(os.path.realpath(Path.cwd()))) or _inside(folder, Path(os.path.abspath(Path.cwd()))):
        raise OutputError(f"cannot write a report into {quoted_path(given)}: it is the current folder (or holds "
                          "it); give a new folder, e.g. `--out report`")
    if given.is_symlink():
        raise OutputError(f"cannot write a report into {quoted_path(given)}: it is a symbolic link; "
                          "give the folder it points to, or a new folder")
    if folder.exists():
        if not folder.is_dir():
            raise OutputError(f"cannot write a report into {quoted_path(given)}: it is a file, not a folder")
        try:
            foreign = _foreign(folder)
            changed = [] if foreign else _changed(folder)
        except OSError as exc:
            raise OutputError(f"cannot write a report into {quoted_path(given)}: "
                              f"cannot list it ({_why(exc)})") from None
        if foreign:
            listed = ", ".join(quoted(n) for n in foreign[:_SHOWN])
            more = f" and {len(foreign) - _SHOWN} more" if len(foreign) > _SHOWN else ""
            raise OutputError(f"will not write a report into {quoted_path(given)}: it holds files bwc did not write "
                              f"({listed}{more}), which replacing it would delete; give an empty or new folder")
        if changed:
            listed = ", ".join(changed[:_SHOWN])
            more = f" and {len(changed) - _SHOWN} more" if len(changed) > _SHOWN else ""
            raise OutputError(f"will not write a report into {quoted_path(given)}: {listed}{more}, where the previous "
                              "report wrote a file; bwc writes only files and never removes what it did not "
                              "write: move it away, or give an empty or new folder")
    ancestor = folder.parent
    while not ancestor.exists() and ancestor.parent != ancestor:
        ancestor = ancestor.parent
    _writable_folder(ancestor, given)


def replace_report_folder(path: Path | str, fill: Callable[[Path], None]) -> None:
    """Write a report folder at `path`: `fill(tmp)` writes the files into a fresh folder beside
    `path` (regular files only: the next run refuses a listed name that is anything else), MARKER
    is added listing them, and the new folder then takes the place of `path` atomically. A folder
    already at `path` is removed only if `check_report_folder` accepts it (else OutputError, nothing
    touched); on any failure the new folder is removed and `path` is left as it was."""
    check_report_folder(path)
    folder = Path(os.path.abspath(path))
    with _converted(folder):
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    old: Path | None = None
    moved = False  # once `tmp` has become `folder`, its path is no longer ours to remove
    try:
        fill(tmp)
        names = sorted(n for n in os.listdir(tmp) if n != MARKER)
        write_text_atomic(tmp / MARKER, _MARKER_HEAD + "".join(f"{n}\n" for n in names))
        with _converted(folder):
            os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp creates 0700; give the folder the usual permissions
        check_report_folder(path)  # again, just before the swap: the folder may have changed meanwhile
        with _converted(folder):
            try:
                if folder.exists():
                    old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".old", dir=folder.parent))
                    os.rmdir(old)
                    os.replace(folder, old)
                os.replace(tmp, folder)
                moved = True
            except BaseException:
                # Also when interrupted between the two renames: the previous report is put back.
                if old is not None and os.path.lexists(old) and not os.path.lexists(folder):
                    os.replace(old, folder)
                old = None
                raise
    except BaseException:
        if not moved:
            shutil.rmtree(tmp, ignore_errors=True)  # the folder mkdtemp made above, with what fill wrote
        raise
    if old is not None:
        _remove_previous_report(old)


def _remove_previous_report(old: Path) -> None:
    """Remove the previous report moved aside to `old`: only the entries its MARKER lists (and the
    MARKER), then the folder if that leaves it empty. A file someone put there after the last check
    is never deleted: the folder then stays beside the report, hidden, with that file in it."""
    for name in sorted(_marker_names(old) or ()):
        entry = old / name
        with suppress(OSError):
            # A report writes only regular files: a folder, link or pipe put at a listed name after the
            # last check is someone's, and stays (a link is never followed: lstat, and unlink of a file).
            if _not_a_file(entry) is None:
                entry.unlink()
    with suppress(OSError):
        (old / MARKER).unlink()
    with suppress(OSError):
        old.rmdir()


# --- text for a terminal ------------------------------------------------------------------------------

def _escape(code: int) -> str:
    # `\u001b`, not `\x1b`: the same text is a valid escape inside a JSON string, so JSON output
    # (`--format json`, which may hold C1 controls or bidi overrides raw) stays JSON with the same meaning.
    return f"\\u{code:04x}"


# C0 controls but newline and tab (ESC starts every terminal escape sequence; CR rewrites the line),
# DEL, C1 controls (0x9b is a one-byte CSI), the line and paragraph separators, and the bidirectional
# marks, embeddings, overrides and isolates that make text display in another order than it is read.
_UNSAFE = {c: _escape(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0),
                                    0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A),
                                    0x2028, 0x2029)}


_BREAKS = re.compile(r"\s*[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]\s*")


def one_line(text: str) -> str:
    """Text from data printed as one line of a text report (a title, a cite, a summary): its line breaks
    folded into spaces, as the Markdown and HTML reports fold them, so that a ruleset's text cannot
    start a line that reads as the report's own (`FAKE: error ...`)."""
    return _BREAKS.sub(" ", text.strip())


def terminal_text(text: str) -> str:
    """`text` safe to print to a terminal: newlines and tabs kept; every other control character,
    terminal escape and bidirectional override shown escaped (`\\u001b`, `\\u202e`), never obeyed.
    Lone surrogates (from undecodable file names) are shown escaped too."""
    safe = text.translate(_UNSAFE)
    if any("\ud800" <= ch <= "\udfff" for ch in safe):
        safe = "".join(_escape(ord(ch)) if "\ud800" <= ch <= "\udfff" else ch for ch in safe)
    return safe


# --- internal errors --------------------------------------------------------------------------------

def save_traceback(exc: BaseException, where: str | None = None) -> str | None:
    """Save the full traceback of a bug in a new file of the temporary folder; its path, or None if
    even that cannot be written. The name comes from mkstemp (unique without reading the clock)."""
    import sys
    import traceback

    try:
        fd, path = tempfile.mkstemp(prefix="bwc-internal-error-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(f"bwc internal error\ncommand: {sys.argv!r}\nprocessing: {where or '(unknown)'}\n"
                     f"python: {sys.version}\n\n")
            fh.write("".join(traceback.format_exception(exc)))
    except OSError:
        return None
    return path
