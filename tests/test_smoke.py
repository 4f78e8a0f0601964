from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from engine.cli import main


def test_bundled_rulesets_check(root: Path) -> None:
    result = CliRunner().invoke(main, ["check", str(root / "rulesets")])
    assert result.exit_code == 0, result.output
    assert "0 with errors" in result.output
