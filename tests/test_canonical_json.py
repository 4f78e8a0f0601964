"""The one canonical JSON encoder writes exactly what Python's `json` writes, with orjson or without."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from policy.canonical import dumps_canonical

_TEXT = st.text(st.characters(exclude_categories=["Cs"]))  # readers refuse lone surrogates
_SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-(2**70), max_value=2**70)
            | st.floats(allow_nan=False, allow_infinity=False) | _TEXT)
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(_TEXT, inner, max_size=4), max_leaves=20)


def _python(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@given(_VALUES)
@example({"a": 1e-07, "b": 4.9305051314766004e-05, "c": 1e16})  # orjson writes these floats otherwise
@example({"a": 1.5e-05})  # written out in full by orjson (one check)
@example([-2.5e-06, 1e-04, 1e15, 1.2345678901234567e15, 1e22])  # a one-digit exponent (the other check)
@example(1.192092896e-07)  # a number alone, not inside a list or an object
@example([2**64, -(2**63) - 1])  # past orjson's integers
@example({"digest": "sha256:81519ed22846", "n": "x:1.5,"})  # text that looks like a number
@example({"\U0001f600": 1, "\uffff": 2, "é": 3, "\u2028": 4, "\x7f\x00": 5})  # key order, escapes
def test_canonical_json_is_pythons(data: Any) -> None:
    assert dumps_canonical(data) == _python(data)
