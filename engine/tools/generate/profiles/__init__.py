"""Generate profiles: violation shares for `bwc generate --profile NAME`, each calibrated to a
published audit finding and carrying its source. A kind of violation no published rate was found for
gets no share (0): a profile never makes a rate up.

Profile files live beside this module (`<name>.yaml`), in the `Profile` model's format.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.tools.generate.checks import CHECKS
from engine.tools.generate.errors import GenerateError
from policy.diagnostics import RulesetError
from policy.source import SourceDocument, read_yaml_file
from policy.values import quoted

PROFILES_DIR = Path(__file__).parent
MAX_PROFILE_BYTES = 64 * 1024


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Model):
    url: str = Field(min_length=8)
    says: str = Field(min_length=1)


class Rate(_Model):
    """One kind of violation's share, with the published finding it comes from."""

    share: float = Field(ge=0, le=1)
    source: str = Field(min_length=8, description="The URL of the finding (one of the profile's sources).")
    confidence: Literal["verified", "secondary"] = Field(
        description="verified: read in the audit report itself; secondary: read in a report of it (news).")
    finding: str = Field(min_length=1, description="The published finding, paraphrased.")
    fit: str = Field(min_length=1, description="How the planted violation and the finding differ.")


class Profile(_Model):
    bwc_generate_profile: Literal[1]
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    title: str = Field(min_length=1)
    sources: list[Source] = Field(min_length=1)
    rates: dict[str, Rate] = Field(min_length=1)
    not_planted: str = Field(min_length=1, description="Why the other kinds get no share.")

    def shares(self) -> dict[str, float]:
        """A share for every check the generator plants: the profile's, else 0."""
        return {c: self.rates[c].share if c in self.rates else 0.0 for c in CHECKS}


def shipped_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))


def load_profile(name_or_path: str | Path) -> Profile:
    """A shipped profile by name, or a profile file; GenerateError naming file:line:column of each problem."""
    text = str(name_or_path)
    shipped = PROFILES_DIR / f"{text}.yaml"
    path = shipped if "/" not in text and shipped.is_file() else Path(text)
    if not path.is_file():
        raise GenerateError(f"no generate profile `{quoted(text)}`: give a profile file, or one of "
                            f"{', '.join(shipped_profiles())}")
    try:
        doc = read_yaml_file(path, max_bytes=MAX_PROFILE_BYTES)
    except RulesetError as exc:
        raise GenerateError("; ".join(f"{d.location()}: {d.message}" for d in exc.diagnostics)) from None
    try:
        profile = Profile.model_validate(doc.data)
    except ValidationError as exc:
        raise GenerateError("; ".join(_where(doc, tuple(e["loc"]), str(e["msg"])) for e in exc.errors())) from None
    problems = [_where(doc, ("rates", c), f"`{quoted(c)}` is not a violation the generator plants "
                                        f"({', '.join(CHECKS)})") for c in profile.rates if c not in CHECKS]
    urls = {s.url for s in profile.sources}
    problems += [_where(doc, ("rates", c, "source"), "the rate's source is not one of the profile's `sources`")
                 for c, r in profile.rates.items() if r.source not in urls]
    if problems:
        raise GenerateError("; ".join(problems))
    return profile


def _where(doc: SourceDocument, loc: tuple[Any, ...], message: str) -> str:
    pos = doc.position(doc.known_prefix(loc))
    return f"{doc.file}:{pos[0]}:{pos[1]}: {message}" if pos else f"{doc.file}: {message}"


__all__ = ["PROFILES_DIR", "Profile", "Rate", "load_profile", "shipped_profiles"]
