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

# Every command, by the module that defines it (imported only when the command is run: engine.cli.lazy).
_COMMANDS = {
    "check": "rulesets:check", "schema": "rulesets:schema", "vocabulary": "rulesets:vocabulary",
    "test": "rulesets:test_command", "diff": "rulesets:diff_command", "log": "rulesets:log_group",
    "render": "render:render_command", "score": "score:score_command",
    "decide": "decide:decide", "explain": "decide:explain",
    "audit": "audit:audit_command", "generate": "audit:generate_command", "impact": "audit:impact_command",
    "serve": "service:serve", "replay": "service:replay_command", "import": "service:import_command",
    "map": "maps:map_group", "categories": "categories:categories_group", "lint": "lint:lint_command",
}


@click.group(cls=Bwc, lazy={name: f"engine.cli.commands.{where}" for name, where in _COMMANDS.items()},
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bwc-policy", prog_name="bwc")
def main() -> None:
    """bwc-policy: body-worn camera policies as versioned, checkable rulesets."""


__all__ = ["EXIT_FAILED", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_PIPE", "EXIT_TERMINATED",
           "EXIT_USAGE", "main"]
