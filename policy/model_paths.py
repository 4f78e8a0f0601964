"""The model class at a location of a ruleset document: the key a misspelt key was meant to be is one of its keys.

Pydantic names where an error is (`loc`: keys and list positions, and the tags of tagged unions);
walking the annotations of `Ruleset` along it finds the model whose keys a "did you mean" offers.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from policy.model import Ruleset


def model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class at a location of a ruleset document (pydantic's `loc`), or None."""
    ann: Any = Ruleset
    for el in loc:
        ann = _step(ann, el)
        if ann is None:
            return None
    ann = unwrap(ann, None)
    return ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None


def unwrap(ann: Any, el: Any) -> Any:
    """The annotation without `Annotated` and `| None`; of a union, the member tagged `el`, or its one container."""
    while True:
        origin = get_origin(ann)
        if origin is typing.Annotated:
            ann = get_args(ann)[0]
        elif origin in (Union, types.UnionType):
            members = [m for m in get_args(ann) if m is not type(None)]
            if len(members) == 1:  # `X | None`
                ann = members[0]
                continue
            tagged = {_tag(m): m for m in members}
            if el in tagged:
                return tagged[el]
            models = [m for m in members if _is_container(m)]
            if len(models) != 1:
                return ann
            ann = models[0]
        else:
            return ann


def _tag(member: Any) -> Any:
    for meta in getattr(member, "__metadata__", ()):
        tag = getattr(meta, "tag", None)
        if tag is not None:
            return tag
    return None


def _is_container(ann: Any) -> bool:
    inner = get_args(ann)[0] if get_origin(ann) is typing.Annotated else ann
    return get_origin(inner) in (list, dict) or (isinstance(inner, type) and issubclass(inner, BaseModel))


def _step(ann: Any, el: Any) -> Any:
    before = ann
    ann = unwrap(ann, el)
    if ann is not before and _tag(_annotated_member(before, el)) == el:
        return ann  # the element was a union tag: consumed
    origin = get_origin(ann)
    if origin is list and isinstance(el, int):
        return get_args(ann)[0]
    if origin is dict and isinstance(el, str):
        return get_args(ann)[1]
    if isinstance(ann, type) and issubclass(ann, BaseModel) and isinstance(el, str):
        for name, info in ann.model_fields.items():
            if el in (name, info.alias):
                return info.annotation if not info.metadata else typing.Annotated[info.annotation, *info.metadata]
    return None


def _annotated_member(ann: Any, el: Any) -> Any:
    while get_origin(ann) is typing.Annotated:
        ann = get_args(ann)[0]
    if get_origin(ann) in (Union, types.UnionType):
        for m in get_args(ann):
            if _tag(m) == el:
                return m
            found = _annotated_member(m, el) if m is not type(None) else None
            if found is not None:
                return found
    return None


def keys_of(model: type[BaseModel]) -> list[str]:
    """The keys a ruleset file writes for the fields of `model`."""
    return [info.alias or name for name, info in model.model_fields.items()]
