"""Run `bwc` in this process, the way the console script does, capturing what it prints."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path
from typing import Any


def run_cli(argv: list[str], cwd: Path | None = None) -> tuple[int, str, str]:
    """Run `bwc ARGV` in this process as the console script does: (exit code, stdout, stderr)."""
    from engine import cli

    out, err = io.StringIO(), io.StringIO()
    old_argv, old_cwd = sys.argv, os.getcwd()
    sys.argv = ["bwc", *argv]
    code: Any = 0
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli.main()
            except SystemExit as exc:
                code = exc.code
    finally:
        sys.argv = old_argv
        os.chdir(old_cwd)
    if code is None:
        code = 0
    elif not isinstance(code, int):  # sys.exit("message") prints the message and exits 1
        err.write(str(code))
        code = 1
    return code, out.getvalue(), err.getvalue()
