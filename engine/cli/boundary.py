"""The error boundary every `bwc` command runs in: whatever ends a command becomes one line and an exit code.

An expected error (bad input, a file that cannot be read or written) is one line saying where and
why, exit 1; a usage error exits 2; Ctrl-C exits 130 and SIGTERM 143, leaving no partial output; a
closed standard output (`| head`) ends the run quietly; anything else is a bug, reported as
"internal error" with the input being processed and the file where its traceback was saved.
docs/diagnostics.md lists the exit codes.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import Any, NoReturn

import click

from engine.api import (
    CalendarOverflow,
    ExportError,
    IncidentError,
    OutputError,
    RulesetError,
    RulesetLookupError,
    SelectionError,
    WorkerError,
)
from engine.cli.lazy import LazyGroup
from engine.cli.options import NoRulesets
from engine.cli.text.console import say, say_diagnostic, say_error
from engine.io.jsondoc import JsonError
from engine.io.output import save_traceback
from engine.service.replay import ReplayError
from engine.service.store import StoreError
from engine.service.tokens import TokenError
from engine.tools.generate.errors import GenerateError
from policy.values import quoted

# Exit codes (docs/diagnostics.md, "Exit codes").
EXIT_OK = 0
EXIT_FAILED = 1  # the input has problems, or an expected error stopped the command
EXIT_USAGE = 2  # click's own code for a bad command line
EXIT_INTERNAL = 70  # a bug in bwc (EX_SOFTWARE of sysexits.h)
EXIT_PIPE = 141  # standard output was closed by its reader (128 + SIGPIPE, as a shell reports it)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
EXIT_TERMINATED = 143  # SIGTERM (128 + SIGTERM)

# Expected errors: the message says what is wrong with the input or the environment.
EXPECTED: tuple[type[Exception], ...] = (SelectionError, RulesetLookupError, ExportError, JsonError, OutputError,
                                         GenerateError, CalendarOverflow, WorkerError, StoreError, TokenError,
                                         ReplayError)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, like Ctrl-C: every clean-up that runs on an interrupt
    (temporary files removed, worker processes stopped) runs on a termination too."""


class _Position:
    """The input being processed (`file:line`), for the report of an internal error."""

    current: str | None = None


@contextmanager
def at(where: str) -> Iterator[None]:
    """Within the block, an internal error is reported as happening while processing `where`."""
    before, _Position.current = _Position.current, where
    try:
        yield
    finally:
        _Position.current = before


def _on_sigterm(signum: int, frame: FrameType | None) -> NoReturn:
    raise Terminated()


_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})
"""Why a write fails though the output was opened: a full disk or quota, a file too large, a device error."""


def _os_error_text(exc: OSError) -> str:
    why = exc.strerror or str(exc)
    if exc.filename is not None:
        return f"cannot use {quoted(os.fsdecode(exc.filename), 200)}: {why}"
    return why


def internal_error(exc: BaseException, where: str | None, *, say_where: bool = True) -> str:
    """One line for a bug: where it happened, and the file holding the traceback (never shown)."""
    saved = save_traceback(exc, where)
    place = f" while processing {where}" if where and say_where else ""
    detail = f"the details were saved to {saved}" if saved else "the details could not be saved"
    return (f"internal error{place} ({type(exc).__name__}): this is a bug in bwc, not a problem with your "
            f"input; {detail}; please report it with that file")


def _quiet_stdout() -> None:
    """Standard output is gone: point it at /dev/null so the flush at exit does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # stdout is not a real file (tests capture it): nothing will flush it at exit


def _exit_code(run: Callable[[], Any]) -> int:
    """Run a command; turn whatever ends it into an exit code, having said why in one line."""
    try:
        result = run()
        sys.stdout.flush()  # here, not at exit: a full disk is then said like any other failed write
        return result if isinstance(result, int) else EXIT_OK
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_FAILED)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort as exc:  # click turns Ctrl-C (and end of input at a prompt) into Abort
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, KeyboardInterrupt):
            return _interrupted(cause)
        say_error("aborted")
        return EXIT_FAILED
    except KeyboardInterrupt as exc:
        return _interrupted(exc)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (BrokenPipeError, _OutputClosed):
        _quiet_stdout()
        return EXIT_PIPE
    except RulesetError as exc:
        for d in exc.diagnostics:
            say_diagnostic(d, err=True)
        say_error("the rulesets have errors: run `bwc check` on them")
        return EXIT_FAILED
    except IncidentError as exc:
        for p in exc.problems:
            say_error(str(p))
        return EXIT_FAILED
    except OSError as exc:
        if exc.filename is None and exc.errno in _FULL:  # a file bwc writes is named (OutputError): a stream
            _quiet_stdout()  # what is left in its buffer would fail again at exit
            say_error(f"cannot write standard output: {exc.strerror or exc}; what was printed before is all "
                      "there is")
            return EXIT_FAILED
        say_error(_os_error_text(exc))
        return EXIT_FAILED
    except EXPECTED as exc:
        hint = f" ({NoRulesets.HINT})" if NoRulesets.here and isinstance(exc, SelectionError | RulesetLookupError) \
            else ""
        say_error(str(exc) + hint)
        return EXIT_FAILED
    except Exception as exc:
        say_error(internal_error(exc, _Position.current))
        return EXIT_INTERNAL


class _Interruption:
    """What an interrupted command left behind, as the boundary says it."""

    default = "nothing was written"
    left = default


@contextmanager
def committing(left: str) -> Iterator[None]:
    """Within the block, an interruption says `left` instead of "nothing was written": for a command that
    commits as it goes (an import, the service), where that would not be true."""
    before, _Interruption.left = _Interruption.left, left
    try:
        yield
    except KeyboardInterrupt:
        raise  # kept for the boundary to say, which then puts the default back (`Bwc.main`)
    except BaseException:
        _Interruption.left = before
        raise
    _Interruption.left = before


def _interrupted(exc: KeyboardInterrupt) -> int:
    terminated = isinstance(exc, Terminated)
    say("bwc: " + ("terminated" if terminated else "interrupted") + "; " + _Interruption.left, err=True)
    return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED


class _OutputClosed(Exception):
    """Standard output's reader went away. Not an OSError, so that click does not handle it itself
    (it would exit 1): the boundary exits quietly with EXIT_PIPE."""


def _printable_everywhere() -> None:
    """A character the terminal's encoding lacks (a ✓ on a Latin-1 terminal, `PYTHONIOENCODING=latin-1`)
    is printed as its escape (`\\u2713`), not a UnicodeEncodeError half-way through the output."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with suppress(Exception):  # a stream an embedding program or a test put there
                reconfigure(errors="backslashreplace")


class Bwc(LazyGroup):
    """The `bwc` group, whose `main` is the one error boundary of every command."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            raise _OutputClosed() from exc

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        _printable_everywhere()
        try:
            previous = signal.signal(signal.SIGTERM, _on_sigterm)
        except ValueError:  # not the main thread (an embedding program): leave signals to it
            previous = None
        try:
            code = _exit_code(lambda: super(Bwc, self).main(args, prog_name, complete_var,
                                                            standalone_mode=False, **extra))
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            _Position.current = None
            _Interruption.left = _Interruption.default
            NoRulesets.here = False
        if not standalone_mode:
            return code
        sys.exit(code)


__all__ = ["EXIT_FAILED", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_PIPE", "EXIT_TERMINATED",
           "EXIT_USAGE", "EXPECTED", "Bwc", "Terminated", "at", "committing", "internal_error"]
