"""Every history reader, fed random bytes, JSON- and EDN-ish text and mutations of valid
histories, returns ops or raises HistoryFormatError / ConfigError: never another exception
(issue 12: "0 tracebacks is the bar"). The ops it returns must survive the checkers too."""
from __future__ import annotations

import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkers.formats import load
from checkers.linearizable import check_history
from checkers.sets import SetChecker, SetFullChecker
from harness.errors import ConfigError, HistoryFormatError

FUZZ = settings(max_examples=80, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
FORMATS = ("auto", "jsonl", "edn", "jepsen-log")
SUFFIXES = (".jsonl", ".edn", ".log", ".txt", "")

JSONL = ('{"index":0,"time":1,"type":"invoke","process":0,"f":"write","key":1,"value":3}\n'
         '{"index":1,"time":2,"type":"ok","process":0,"f":"write","key":1,"value":3}\n'
         '{"index":2,"time":3,"type":"invoke","process":"nemesis","f":"start","value":null}\n'
         '{"index":3,"time":4,"type":"invoke","process":1,"f":"cas","key":1,"value":[3,4]}\n'
         '{"index":4,"time":5,"type":"info","process":1,"f":"cas","key":1,"value":[3,4]}\n'
         '{"index":5,"time":6,"type":"invoke","process":2,"f":"read","key":1,"value":null}\n'
         '{"index":6,"time":7,"type":"ok","process":2,"f":"read","key":1,"value":4}\n')
EDN = ('{:type :invoke, :f :write, :value [1 3], :process 0, :time 1, :index 0}\n'
       '{:type :ok, :f :write, :value [1 3], :process 0, :time 2, :index 1}\n'
       '{:type :info, :f :start, :value {:n1 #{"n2"}}, :process :nemesis, :index 2}\n'
       '{:type :invoke, :f :cas, :value [1 [3 4]], :process 1, :time 3, :index 3}\n'
       '{:type :fail, :f :cas, :value [1 [3 4]], :process 1, :time 4, :index 4, '
       ':error :cas-mismatch}\n'
       '{:type :invoke, :f :read, :value [1 nil], :process 2, :time 5, :index 5}\n'
       '{:type :ok, :f :read, :value [1 :a], :process 2, :time 6, :index 6}\n')
LOG = ('INFO  jepsen.util - 0\t:invoke\t:write\t3\n'
       'INFO  jepsen.util - 0\t:ok\t:write\t3\n'
       'INFO  jepsen.util - :nemesis\t:info\t:start\tnil\n'
       'INFO  jepsen.util - 1\t:invoke\t:cas\t[3 4]\n'
       'INFO  jepsen.util - 1\t:info\t:cas\t[3 4]\tindeterminate: timeout\n'
       'INFO  jepsen.util - 2\t:invoke\t:read\tnil\n'
       'INFO  jepsen.util - 2\t:ok\t:read\t4\n')
PIECES = ['{', '}', '[', ']', '(', ')', '#{', ':', '"', '\\', ',', ' ', '\n', '\t', 'nil',
          'true', 'false', '1', '-0', '1.5', '1e999', '1/0', '3N', '1.5M', ':a', 'sym',
          '"index"', '"process"', '"type"', '"ok"', '"invoke"', '"f"', ':type', ':ok',
          ':invoke', ':f', ':process', ':nemesis', '#inst "x"', '#uuid "y"', '\\c', '^',
          '#_', ';', '\x00', '\ud800', '\u202e', '9' * 30, '[' * 50, '{"a":' * 30,
          'jepsen.util -', ':index', '"value"', '[1 2]', '{:a 1}', 'null', '#jepsen.history.Op{']

texty = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A valid history with a few pieces deleted, duplicated, replaced or inserted."""
    text = draw(st.sampled_from([JSONL, EDN, LOG]))
    rnd = random.Random(draw(st.integers(0, 2**32)))
    for _ in range(draw(st.integers(1, 6))):
        i = rnd.randrange(len(text) + 1)
        j = min(len(text), i + rnd.randrange(1, 12))
        op = rnd.randrange(4)
        if op == 0:
            text = text[:i] + text[j:]
        elif op == 1:
            text = text[:i] + text[i:j] * 2 + text[j:]
        elif op == 2:
            text = text[:i] + rnd.choice(PIECES) + text[j:]
        else:
            k = rnd.randrange(len(text) + 1)
            text = text[:k] + text[i:j] + text[k:]
    return text


def _read_and_check(data: bytes, suffix: str, fmt: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / ("h" + suffix)
        p.write_bytes(data)
        for independent in (False, True):
            try:
                ops = load(p, fmt=fmt, independent=independent)
            except (HistoryFormatError, ConfigError):
                continue
            for model in ("cas-register", "set"):
                try:
                    check_history(ops, model=model, workers=1)
                except (HistoryFormatError, ConfigError):
                    pass
            for checker in (SetChecker(), SetFullChecker()):
                try:
                    checker.check({}, ops)
                except HistoryFormatError:
                    pass


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(SUFFIXES), st.sampled_from(FORMATS))
def test_random_bytes(data: bytes, suffix: str, fmt: str) -> None:
    _read_and_check(data, suffix, fmt)


@FUZZ
@given(texty, st.sampled_from(SUFFIXES), st.sampled_from(FORMATS))
def test_json_and_edn_ish_text(text: str, suffix: str, fmt: str) -> None:
    _read_and_check(text.encode("utf-8", "surrogatepass"), suffix, fmt)


@FUZZ
@given(mutated(), st.sampled_from(SUFFIXES), st.sampled_from(FORMATS))
def test_mutated_histories(text: str, suffix: str, fmt: str) -> None:
    _read_and_check(text.encode("utf-8", "surrogatepass"), suffix, fmt)


def test_the_seeds_read_and_check() -> None:
    for text, suffix in ((JSONL, ".jsonl"), (EDN, ".edn"), (LOG, ".log")):
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / ("h" + suffix)
            p.write_text(text)
            assert len(load(p)) == 7
