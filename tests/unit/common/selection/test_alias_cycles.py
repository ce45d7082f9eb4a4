"""Alias cycles: an alias that comes back to itself through other aliases is found (with the way
round), in linear time however long the chain; a member naming its own alias is that model."""

from __future__ import annotations

import pytest

from services.common.errors import InvalidRequest
from services.common.selection.config import alias_cycle, check_alias


@pytest.mark.parametrize(("aliases", "name", "cycle"), [
    ({"a": ["b"], "b": ["a"]}, "a", ("a", "b", "a")),
    ({"a": ["b", "m"], "b": ["b", "c"], "c": ["d", "a"]}, "a", ("a", "b", "c", "a")),
    ({"a": ["x", "b"], "b": ["y"], "c": ["a"]}, "a", None),  # c leads to a, a not back to itself
    ({"a": ["b"], "b": ["c"], "c": ["b"]}, "a", None),  # a cycle, but not through a
    ({"a": ["b"], "b": ["c"], "c": ["b"]}, None, ("b", "c", "b")),
    ({"a": ["a", "m"]}, "a", None),  # the model named a
    ({"a": ["b"], "b": ["a"]}, "zzz", None),  # no such alias
    ({}, None, None),
])
def test_cycles_through_other_aliases_are_found(aliases, name, cycle):
    assert alias_cycle(aliases, name) == cycle


def test_a_long_chain_is_followed_without_recursion_and_a_dense_graph_in_one_pass():
    """A recursive walk would overflow the stack at 50,000 links; a walk that revisits nodes would
    not finish the dense graph (3,000 nodes, 40 edges each: ~10^51 paths) within the suite's
    timeout. No wall-clock assertion: the machines are shared."""
    chain = {f"n{i}": [f"n{i + 1}", "m"] for i in range(50_000)}
    assert alias_cycle(chain) is None and alias_cycle(chain, "n0") is None
    chain["n50000"] = ["n0"]
    cycle = alias_cycle(chain, "n0")
    assert cycle is not None and len(cycle) == 50_002 and cycle[0] == cycle[-1] == "n0"
    dense = {f"n{i}": [f"n{j}" for j in range(i + 1, min(i + 40, 3000))] for i in range(3000)}
    assert alias_cycle(dense) is None


def test_the_refusal_names_the_alias_the_cycle_and_the_field():
    with pytest.raises(InvalidRequest) as refused:
        check_alias({"p": ["q"], "q": ["p"]}, field="aliases.{name}.models")
    assert refused.value.field == "aliases.p.models" and refused.value.status == 400
    assert refused.value.message == "alias p resolves to itself through other aliases: p -> q -> p"
