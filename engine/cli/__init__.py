"""The `bwc` command line: the `bwc` group and its commands, each run inside one error boundary.

engine.cli.boundary turns whatever ends a command into one line and an exit code (docs/diagnostics.md
lists the codes); engine.cli.commands holds the commands, grouped by what users do; engine.cli.text
makes every piece of text they print, all of it through `say`, which escapes data.
"""

from __future__ import annotations

import click

from engine.cli.boundary import (
    EXIT_FAILED,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PIPE,
    EXIT_TERMINATED,
    EXIT_USAGE,
    Bwc,
)
from engine.cli.commands import audit, categories, decide, lint, maps, render, rulesets, score, service


@click.group(cls=Bwc, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bwc-policy", prog_name="bwc")
def main() -> None:
    """bwc-policy: body-worn camera policies as versioned, checkable rulesets."""


for _command in (*rulesets.COMMANDS, *render.COMMANDS, *score.COMMANDS, *decide.COMMANDS, *audit.COMMANDS,
                 *service.COMMANDS, *maps.COMMANDS, *categories.COMMANDS, *lint.COMMANDS):
    main.add_command(_command)
rulesets.log_group.add_command(service.log_verify)

__all__ = ["EXIT_FAILED", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_PIPE", "EXIT_TERMINATED",
           "EXIT_USAGE", "main"]
