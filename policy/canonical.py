"""The canonical form of a ruleset and its content digest.

The canonical form is the model's JSON with keys sorted and defaults left out, so the digest does
not change with comments, key order, whitespace, quoting, or writing a default value explicitly.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import yaml

from policy.model import Ruleset


class _Dumper(yaml.SafeDumper):
    """PyYAML's dumper quotes text that YAML 1.1 would read as another type; rulesets are read with the
    YAML 1.2 core schema, which also reads `08`, `1e5` and `1.0e5` as numbers, so quote those too."""


_LINE_BREAKS = ("\x85", "\u2028", "\u2029")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # PyYAML writes NEL and the Unicode line and paragraph separators raw inside single quotes, where
    # they are read back as line breaks and folded into spaces; double quotes escape them.
    style = '"' if any(c in value for c in _LINE_BREAKS) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


_Dumper.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
_Dumper.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+)$"),
    list("-+0123456789"),
)


def canonical_data(ruleset: Ruleset) -> dict[str, Any]:
    return ruleset.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def canonical_json(ruleset: Ruleset) -> str:
    return json.dumps(canonical_data(ruleset), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(ruleset: Ruleset) -> str:
    """`sha256:<hex>` of the canonical JSON."""
    return "sha256:" + hashlib.sha256(canonical_json(ruleset).encode("utf-8")).hexdigest()


def to_yaml(ruleset: Ruleset) -> str:
    """The ruleset as YAML that loads back to an equal model (comments are not kept)."""
    return yaml.dump(canonical_data(ruleset), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
