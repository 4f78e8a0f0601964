"""JSON Schema for ruleset files, exported from the model (for editors and other tools)."""

from __future__ import annotations

import json
from typing import Any

from policy.model import Ruleset

SCHEMA_ID = "https://bwc-policy.org/schema/ruleset.schema.json"


def ruleset_schema() -> dict[str, Any]:
    schema = Ruleset.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def ruleset_schema_json() -> str:
    return json.dumps(ruleset_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
