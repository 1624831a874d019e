"""Porcupine's test corpus: every history gets exactly its published verdict.

- etcd/*.log: Jepsen logs of etcd, one cas-register for the whole log (values are not
  independent tuples; ``cas`` carries ``[old new]``), read as format jepsen-log.
- kv/*.txt: one EDN op map per line, a string key each; Porcupine's kv model (get, put,
  append on strings, initial ""), checked per key.

The data is vendored in tests/data/porcupine (verdicts.tsv beside each set; see
tests/data/README.md). A missing corpus is a failure, not a skip.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from checkers.check import check_file
from checkers.formats import load
from tests.shared_data import PORCUPINE as DATA


def _verdicts(kind: str) -> list[tuple[Path, bool]]:
    tsv = DATA / kind / "verdicts.tsv"
    if not tsv.exists():
        return []
    out = []
    for line in tsv.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, verdict = line.split("\t")[:2]
            out.append((DATA / kind / name, verdict.strip() == "true"))
    return out


def _params(kind: str) -> list:
    cases = _verdicts(kind)
    assert cases, f"Porcupine's {kind} corpus not found at {DATA / kind}"
    return [pytest.param(p, v, id=p.name) for p, v in cases]


@pytest.mark.parametrize("path, expected", _params("etcd"))
def test_etcd_log_verdict(path: Path, expected: bool) -> None:
    res = check_file(path, model="cas-register", fmt="jepsen-log", timeout=120)
    assert res["valid"] is expected, res.get("error") or res["keys"]
    if not expected:
        (key,) = res["keys"].values()
        assert key["explanation"].startswith("no linearization explains")
        assert 0 < len(key["ops"]) <= 50
        invoked = {o.index for o in load(path, fmt="jepsen-log") if o.type == "invoke"}
        assert key["witness"] and set(key["witness"]) <= invoked


@pytest.mark.parametrize("path, expected", _params("kv"))
def test_kv_verdict(path: Path, expected: bool) -> None:
    res = check_file(path, model="kv", fmt="edn", timeout=120)
    assert res["valid"] is expected, res.get("error") or res["keys"]
    if not expected:
        assert any(k["valid"] is False for k in res["keys"].values())


def test_etcd_corpus_is_complete() -> None:
    cases = _verdicts("etcd")
    if not cases:
        pytest.skip(f"Porcupine's etcd corpus not found at {DATA / 'etcd'}")
    assert len(cases) == 103
    assert {p.name for p, _ in cases} == {p.name for p in (DATA / "etcd").glob("*.log")}


@pytest.mark.parametrize("name", ["c01-bad.txt", "c10-bad.txt"])
def test_kv_bad_keys_are_explained(name: str) -> None:
    res = check_file(DATA / "kv" / name, model="kv", fmt="edn", timeout=120)
    bad = [k for k in res["keys"].values() if k["valid"] is False]
    assert bad
    for k in bad:
        assert k["explanation"] and 0 < len(k["ops"]) <= 50
        assert k["method"] == "search" and 0 <= k["prefix_ops"] < k["op_count"]
        assert k["witness"] and all(type(i) is int for i in k["witness"])
