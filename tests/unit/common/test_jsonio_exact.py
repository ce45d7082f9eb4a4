"""`jsonio.loads_exact`: money-carrying bodies parsed with every non-integer number a Decimal,
the same values the stdlib's parser (`json.loads(parse_float=Decimal)`) gave before the faster
one, and every body the faster one refuses answered as the stdlib answers it."""

from __future__ import annotations

import json
import math
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common import jsonio
from services.common.errors import InvalidRequest


def stdlib(body: bytes | str):
    return json.loads(body, parse_float=Decimal)


@pytest.mark.parametrize("body", [
    b'{"cost_usd": 0.000045, "tokens": 100, "big": 100000000000000000000000, "tiny": 1e-7, "neg": -0.0}',
    b'{"a": 1E2, "b": 1.50, "c": [0.1, 0.2, 0.30], "d": null, "e": true, "f": "\\u00e9\\n"}',
    b'{"a": 1, "a": 2}',  # the last of a repeated key, as the stdlib keeps it
    '{"é": 2.5}',  # a str as well as bytes
])
def test_values_are_the_stdlib_s_exactly(body):
    ours = jsonio.loads_exact(body)
    assert ours == stdlib(body)
    assert repr(ours) == repr(stdlib(body))  # Decimal('1.50') stays 1.50: exponent and digits kept


@pytest.mark.parametrize(("body", "check"), [
    (b'{"x": NaN}', lambda v: math.isnan(v["x"])),  # refused later by the contract, naming the field
    (b'{"x": Infinity}', lambda v: v["x"] == math.inf),
    (b'\xef\xbb\xbf{"x": 1.5}', lambda v: v == {"x": Decimal("1.5")}),  # a UTF-8 byte-order mark
    ('{"x": "\\ud800"}', lambda v: v == {"x": "\ud800"}),  # a lone surrogate escape
    ('{"x": 2.5}'.encode("utf-16"), lambda v: v == {"x": Decimal("2.5")}),
])
def test_what_the_fast_parser_refuses_reads_as_the_stdlib_reads_it(body, check):
    assert check(jsonio.loads_exact(body))


@pytest.mark.parametrize("body", [b"{not json", b"", b"[1,]", b'{"a":1}x', b"[" * 50_000, b"01", b'{"a":"x\ny"}'])
def test_malformed_bodies_are_a_400(body):
    with pytest.raises(InvalidRequest, match="not valid JSON"):
        jsonio.loads_exact(body)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8)
    | st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=-(10**9), max_value=10**9),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_document_parses_as_the_stdlib_parses_it(value):
    body = jsonio.dumps(value)
    assert repr(jsonio.loads_exact(body)) == repr(stdlib(body))
