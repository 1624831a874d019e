"""The JSON fast path for history.edn reads exactly what the EDN reader reads, or leaves the
line to it: random op maps printed the way Clojure prints them (and some ways it does not)."""
from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkers.formats.edn import op_map
from checkers.formats.ednjson import NOT_READ, read_simple_lines
from checkers.formats.ednread import read_form

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

keyword = st.from_regex(r":[a-z][a-z0-9\-\.\?/]{0,8}", fullmatch=True)
symbol_like = st.sampled_from(["nil", "true", "false", ":nil", ":true", "nilly", "foo",
                               "1N", "1.5", "-7", "+3", "1/2", "\\c"])
string = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]),
                 max_size=12).map(lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"')
                                  + '"')
atom = st.one_of(st.integers(-10**20, 10**20).map(str), keyword, symbol_like, string)


def _edn(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    vec = st.lists(children, max_size=4).map(lambda xs: "[" + " ".join(xs) + "]")
    mp = st.lists(st.tuples(keyword, children), max_size=4).map(
        lambda kvs: "{" + ", ".join(f"{k} {v}" for k, v in kvs) + "}")
    odd = st.lists(children, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]")
    return st.one_of(vec, mp, odd)


value = st.recursive(atom, _edn, max_leaves=10)
sep = st.sampled_from([", ", ", ", ", ", " ", ",  "])


@st.composite
def op_lines(draw: st.DrawFn) -> str:
    pairs = draw(st.lists(st.tuples(keyword, value), min_size=1, max_size=7))
    s = draw(sep)
    return "{" + s.join(f"{k} {v}" for k, v in pairs) + "}"


@FAST
@given(st.lists(op_lines(), min_size=1, max_size=4))
def test_json_path_reads_what_the_edn_reader_reads(lines: list[str]) -> None:
    got = read_simple_lines(lines)
    for line, v in zip(lines, got):
        if v is NOT_READ:
            continue
        try:
            expected: Any = op_map(read_form(line))  # names of op fields as strings
        except Exception:
            raise AssertionError(f"read {line!r} as {v!r}, but it is not EDN") from None
        assert v == expected, line
