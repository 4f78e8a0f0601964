"""Audit presets: published audit methods as data. A preset names the checks an audit runs (grouped by
the elements of the method it mirrors, each with the checks that cover it or none when it is checked by
hand outside an export) and, optionally, a measure such as an activation rate, each with its source.

Preset files live beside this module (`<name>.yaml`); `bwc audit --preset NAME` (or a path) selects one.
Their format is the `Preset` model; docs/audit.md ("Presets") describes the shipped ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.audit.findings import CHECKS
from engine.io.columnmap import ColumnMapError
from engine.io.export import ExportError
from policy.diagnostics import Diagnostic, RulesetError
from policy.source import SourceDocument, read_yaml_file
from policy.values import quoted

PRESETS_DIR = Path(__file__).parent
MAX_PRESET_BYTES = 256 * 1024


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Model):
    url: str = Field(min_length=8)
    says: str = Field(min_length=1, description="What the source says, paraphrased.")


class Element(_Model):
    """One element of the published method, and the checks of this audit that cover it (none: by hand)."""

    name: str = Field(min_length=1)
    method: str = Field(min_length=1, description="What the published method does for it, paraphrased.")
    checks: list[str] = Field(default_factory=list)
    by_hand: str | None = Field(default=None, description="Why an export cannot show it (when `checks` is empty).")


class ActivationMeasure(_Model):
    """Calls matched to recordings: the share of calls where an officer on scene had a recording start
    between the officer's dispatch (or arrival) and clearing the call."""

    kind: Literal["activation_rate"]
    source: Source
    dispatched: str = "dispatched"
    arrived: str = "arrived"
    cleared: list[str] = Field(default_factory=lambda: ["left_scene", "encounter_ended"])
    min_on_scene_seconds: int = Field(default=0, ge=0)
    published: list[str] = Field(default_factory=list, description="Published results of the method, to compare.")


class Preset(_Model):
    bwc_audit_preset: Literal[1]
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    title: str = Field(min_length=1)
    method: str = Field(min_length=1)
    sources: list[Source] = Field(min_length=1)
    elements: list[Element] = Field(min_length=1)
    measure: ActivationMeasure | None = None
    differences: list[str] = Field(default_factory=list, description="Where this audit differs from the method.")

    @property
    def checks(self) -> frozenset[str]:
        return frozenset(c for e in self.elements for c in e.checks)

    def describe(self, measure: dict[str, int] | None = None) -> dict[str, Any]:
        """The preset's part of summary.json."""
        out: dict[str, Any] = {
            "name": self.name, "title": self.title, "sources": [s.url for s in self.sources],
            "checks": sorted(self.checks),
            "elements": [{"name": e.name, "checks": list(e.checks), "by_hand": e.by_hand} for e in self.elements],
            "differences": list(self.differences),
        }
        if self.measure is not None:
            counts = measure or {"calls": 0, "matched": 0}
            calls, matched = counts.get("calls", 0), counts.get("matched", 0)
            out["measure"] = {"kind": self.measure.kind, "source": self.measure.source.url, "calls": calls,
                              "matched": matched,
                              "percent": round(100.0 * matched / calls, 2) if calls else None,
                              "published": list(self.measure.published)}
        return out


def shipped_presets() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def load_preset(name_or_path: str | Path) -> Preset:
    """A shipped preset by name, or a preset file; ColumnMapError-style problems with file:line:column."""
    text = str(name_or_path)
    shipped = PRESETS_DIR / f"{text}.yaml"
    path = shipped if "/" not in text and shipped.is_file() else Path(text)
    if not path.is_file():
        raise ExportError(f"no audit preset `{quoted(text)}`: give a preset file, or one of "
                          f"{', '.join(shipped_presets())}")
    try:
        doc = read_yaml_file(path, max_bytes=MAX_PRESET_BYTES)
    except RulesetError as exc:
        raise ColumnMapError(list(exc.diagnostics)) from None
    try:
        preset = Preset.model_validate(doc.data)
    except ValidationError as exc:
        raise ColumnMapError([_where(doc, tuple(e["loc"]), str(e["msg"])) for e in exc.errors()]) from None
    problems = [_where(doc, ("elements", i, "checks", j), f"`{quoted(c)}` is not a check of the audit "
                                                          f"({', '.join(CHECKS)})")
                for i, e in enumerate(preset.elements) for j, c in enumerate(e.checks) if c not in CHECKS]
    if problems:
        raise ColumnMapError(problems)
    return preset


def _where(doc: SourceDocument, loc: tuple[Any, ...], message: str) -> Diagnostic:
    path = doc.known_prefix(loc)
    pos = doc.position(path) or (None, None)
    return Diagnostic("PRESET", message, doc.file, pos[0], pos[1], path=path)


__all__ = ["PRESETS_DIR", "ActivationMeasure", "Element", "Preset", "Source", "load_preset", "shipped_presets"]
