"""Conditions: when a rule applies, written as structured YAML (never as code).

    when:
      all:
        - facts: {location_type: {in: [restroom, locker_room]}}
        - event: use_of_force
          where: {injury: {at_least: substantial}}
        - not: {event: request_to_stop_recording}
        - sequence:
            - event: use_of_force
            - event: complaint_filed
          within: P1Y
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Union

from pydantic import (
    Discriminator,
    Field,
    GetJsonSchemaHandler,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    Tag,
    model_serializer,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from policy.base import Name, PolicyModel
from policy.duration import Duration

Scalar = StrictBool | StrictInt | StrictFloat | StrictStr


class Operator(StrEnum):
    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    IN = "in"
    NOT_IN = "not_in"
    LESS_THAN = "less_than"
    AT_MOST = "at_most"
    MORE_THAN = "more_than"
    AT_LEAST = "at_least"
    EXISTS = "exists"


ORDERING = {Operator.LESS_THAN, Operator.AT_MOST, Operator.MORE_THAN, Operator.AT_LEAST}
MEMBERSHIP = {Operator.IN, Operator.NOT_IN}
OPERATOR_WORDS = {
    Operator.EQUALS: "is", Operator.NOT_EQUALS: "is not", Operator.IN: "is one of",
    Operator.NOT_IN: "is none of", Operator.LESS_THAN: "is less than", Operator.AT_MOST: "is at most",
    Operator.MORE_THAN: "is more than", Operator.AT_LEAST: "is at least", Operator.EXISTS: "is recorded",
}
_OPS = ", ".join(o.value for o in Operator)


class Comparison(PolicyModel):
    """One test of a fact or attribute. A bare value means `equals`; otherwise `{operator: value}`."""

    op: Operator
    value: Scalar | list[Scalar]

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, data: Any) -> Any:
        if isinstance(data, Comparison):
            return data
        if isinstance(data, dict):
            if len(data) != 1:
                raise PydanticCustomError(
                    "comparison_shape",
                    "a test has exactly one operator ({ops}); found {keys}",
                    {"ops": _OPS, "keys": ", ".join(map(str, data)) or "none"},
                )
            (key, value), = data.items()
            if key not in Operator.__members__.values():
                raise PydanticCustomError(
                    "comparison_operator", "`{key}` is not an operator; operators: {ops}",
                    {"key": key, "ops": _OPS},
                )
            return {"op": key, "value": value}
        if isinstance(data, list):
            raise PydanticCustomError(
                "comparison_list", "a list of values needs an operator: write `in: [...]` or `not_in: [...]`", {}
            )
        if data is None:
            raise PydanticCustomError("comparison_null", "a test needs a value; write `exists: false` to "
                                      "require that something is not recorded", {})
        return {"op": Operator.EQUALS, "value": data}

    @model_validator(mode="after")
    def _value_fits_operator(self) -> Comparison:
        if self.op in MEMBERSHIP:
            if not isinstance(self.value, list) or not self.value:
                raise PydanticCustomError("comparison_value", "`{op}` needs a list of values, e.g. [a, b]",
                                          {"op": self.op.value})
        elif isinstance(self.value, list):
            raise PydanticCustomError("comparison_value", "`{op}` takes one value, not a list",
                                      {"op": self.op.value})
        elif self.op is Operator.EXISTS and not isinstance(self.value, bool):
            raise PydanticCustomError("comparison_value", "`exists` takes true or false", {})
        elif self.op in ORDERING and isinstance(self.value, bool):
            raise PydanticCustomError("comparison_value", "`{op}` compares numbers or ordered values, "
                                      "not true/false", {"op": self.op.value})
        return self

    @model_serializer(mode="plain")
    def _to_yaml(self) -> Any:
        if self.op is Operator.EQUALS:
            return self.value
        return {self.op.value: self.value}

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        scalar: dict[str, Any] = {"type": ["string", "number", "integer", "boolean"]}
        ops: dict[str, Any] = {}
        for op in Operator:
            if op in MEMBERSHIP:
                ops[op.value] = {"type": "array", "items": scalar, "minItems": 1}
            elif op is Operator.EXISTS:
                ops[op.value] = {"type": "boolean"}
            else:
                ops[op.value] = scalar
        return {
            "description": "A value (meaning `equals`), or one operator with its value.",
            "anyOf": [
                scalar,
                {"type": "object", "properties": ops, "additionalProperties": False,
                 "minProperties": 1, "maxProperties": 1},
            ],
        }


Tests = Annotated[dict[Name, Comparison], Field(min_length=1)]


class EventCondition(PolicyModel):
    """True when the incident has an event of this type whose attributes pass every test."""

    event: Name
    where: dict[Name, Comparison] = Field(default_factory=dict)


class FactsCondition(PolicyModel):
    """True when every named incident fact passes its test."""

    facts: Tests


class AllCondition(PolicyModel):
    all: Annotated[list[Condition], Field(min_length=1)]


class AnyCondition(PolicyModel):
    any: Annotated[list[Condition], Field(min_length=1)]


class NotCondition(PolicyModel):
    not_: Condition = Field(alias="not")


class SequenceCondition(PolicyModel):
    """True when events of these types happened in this order (each at or after the one before),
    the last within `within` of the first when it is given."""

    sequence: Annotated[list[EventCondition], Field(min_length=2, max_length=8)]
    within: Duration | None = None


CONDITION_KEYS = ("all", "any", "not", "facts", "event", "sequence")


def _condition_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        for key in CONDITION_KEYS:
            if key in value:
                return key
        return None
    for key, model in _KINDS.items():
        if isinstance(value, model):
            return key
    return None


Condition = Annotated[
    Union[  # noqa: UP007 - pydantic needs the explicit Union for tagged members
        Annotated[AllCondition, Tag("all")],
        Annotated[AnyCondition, Tag("any")],
        Annotated[NotCondition, Tag("not")],
        Annotated[FactsCondition, Tag("facts")],
        Annotated[EventCondition, Tag("event")],
        Annotated[SequenceCondition, Tag("sequence")],
    ],
    Discriminator(
        _condition_kind,
        custom_error_type="condition_kind",
        custom_error_message=(
            "a condition starts with one of: all, any, not, facts, event, sequence"
        ),
    ),
]

_KINDS: dict[str, type[PolicyModel]] = {
    "all": AllCondition, "any": AnyCondition, "not": NotCondition, "facts": FactsCondition,
    "event": EventCondition, "sequence": SequenceCondition,
}

for _model in (AllCondition, AnyCondition, NotCondition):
    _model.model_rebuild()
