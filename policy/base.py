"""The base of every ruleset model, and the small value types they share."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

from policy.values import parse_date

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
ID_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"

# A vocabulary name: an event type, attribute, fact, role, purpose or recipient.
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, max_length=64)]
# A ruleset, rule or source identifier.
Ident = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=128)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=10_000)]


def _strict_date(value: Any) -> Any:
    # The one definition of a date (policy.values): YYYY-MM-DD only. Pydantic alone would read
    # `20200101`, `1593561600` (a Unix time) or `2020-01-01T00:00` as dates.
    try:
        return parse_date(value)
    except ValueError as exc:
        raise PydanticCustomError("date", "{reason}", {"reason": str(exc)}) from None


Day = Annotated[date, BeforeValidator(_strict_date)]


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


# A list of names that may also be written as a single name (`role: supervisor`).
NameList = Annotated[
    list[Name], BeforeValidator(_one_or_many), Field(min_length=1),
    WithJsonSchema({"anyOf": [{"type": "string", "pattern": NAME_PATTERN},
                              {"type": "array", "items": {"type": "string", "pattern": NAME_PATTERN},
                               "minItems": 1}]}),
]


class Effect(StrEnum):
    MUST = "must"
    MAY = "may"
    MUST_NOT = "must_not"


class PolicyModel(BaseModel):
    """Strict: unknown keys are errors (a typo must never be silently ignored)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, str_strip_whitespace=True,
        validate_default=False, use_enum_values=False,
    )
