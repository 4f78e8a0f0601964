"""The canonical form of a ruleset and its content digest.

The canonical form is the model's JSON with keys sorted and defaults left out, so the digest does
not change with comments, key order, whitespace, quoting, or writing a default value explicitly.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import yaml

from policy.model import Ruleset


def canonical_data(ruleset: Ruleset) -> dict[str, Any]:
    return ruleset.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def canonical_json(ruleset: Ruleset) -> str:
    return json.dumps(canonical_data(ruleset), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(ruleset: Ruleset) -> str:
    """`sha256:<hex>` of the canonical JSON."""
    return "sha256:" + hashlib.sha256(canonical_json(ruleset).encode("utf-8")).hexdigest()


def to_yaml(ruleset: Ruleset) -> str:
    """The ruleset as YAML that loads back to an equal model (comments are not kept)."""
    return yaml.safe_dump(canonical_data(ruleset), sort_keys=False, allow_unicode=True, width=100)
