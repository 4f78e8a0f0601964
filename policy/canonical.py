"""The canonical form of a ruleset and its content digest.

The canonical form is the model's JSON with keys sorted and defaults left out, so the digest does
not change with comments, key order, whitespace, quoting, or writing a default value explicitly.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import orjson
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


# Where orjson writes a finite float otherwise than Python: a negative exponent of one digit (`1e-7` for
# `1e-07`) or a number below 0.0001 written out in full (`0.00001` for `1e-05`); positive exponents are
# written alike (`1e+16`). The same text inside a string (`"e-5"`) is sent the slow way too: only the speed
# changes. These scans cost about a sixth of the pattern of number tokens they replace, which tried a match
# at every `:` and `,` (10 µs against 60 on a 5 kB decision). tests/test_canonical_json.py holds the two
# writers alike.
_SHORT_EXPONENT = re.compile(rb"e-[0-9](?![0-9])")


def _written_as_python(out: bytes) -> bool:
    return (b"." not in out or b"0.0000" not in out) and _SHORT_EXPONENT.search(out) is None


def dumps_canonical(data: Any) -> str:
    """JSON with keys sorted, no spaces and text unescaped (UTF-8): the bytes Python's
    `json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` writes, which every
    digest, decision id and decision's JSON is made of. orjson writes them several times faster, and
    the same, except for some finite floats and integers past 64 bits: those are left to `json`.
    (Non-finite numbers never reach here: every reader refuses them.)"""
    try:
        out = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        out = None
    if out is not None and _written_as_python(out):
        return out.decode()
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_data(ruleset: Ruleset) -> dict[str, Any]:
    return ruleset.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def canonical_json(ruleset: Ruleset) -> str:
    return dumps_canonical(canonical_data(ruleset))


def digest(ruleset: Ruleset) -> str:
    """`sha256:<hex>` of the canonical JSON."""
    return "sha256:" + hashlib.sha256(canonical_json(ruleset).encode("utf-8")).hexdigest()


def to_yaml(ruleset: Ruleset) -> str:
    """The ruleset as YAML that loads back to an equal model (comments are not kept)."""
    return yaml.dump(canonical_data(ruleset), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
