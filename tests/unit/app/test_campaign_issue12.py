"""Issue 12 in campaign files: what was accepted silently is refused at load, one line."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.app.campaign import load_config
from harness.errors import ConfigError
from tests.unit.app.test_campaign import fake_db_modes  # noqa: F401 (autouse fixture)


def _load(tmp_path: Path, text: str):
    p = tmp_path / "c.toml"
    p.write_text(text)
    return load_config(p)


@pytest.mark.parametrize("text, needle", [
    ('[expect]\nraftt = "valid"\n', "[expect] 'raftt' is not a mode of db 'kvstore'; "
                                     "did you mean 'raft'?"),
    ('[expect]\nzzz = "valid"\n', "[expect] 'zzz' is not a mode"),
    ('nemeses = ["partition+partition"]\n', "names partition twice"),
    ('nemeses = ["pause+clock+pause"]\n', "names pause twice"),
    ('nemeses = ["none+partition"]\n', "combines none (no faults)"),
    ('nemeses = ["partition+"]\n', "empty package name"),
    ('cluster = "bad name!"\n', "cluster name 'bad name!' is not usable"),
    ('cluster = "-x"\n', "cluster name '-x' is not usable"),
    ('cluster = "' + "c" * 60 + '"\n', "is not usable"),
])
def test_campaign_file_mistakes_are_refused_at_load(tmp_path, text, needle):
    with pytest.raises(ConfigError) as e:
        _load(tmp_path, text)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_good_campaign_files_still_load(tmp_path):
    cfg = _load(tmp_path, 'nemeses = ["none", "partition+clock"]\ncluster = "c1.x-y_z"\n'
                          '[expect]\nraft = "valid"\n')
    assert cfg.nemeses == ["none", "partition+clock"] and cfg.cluster == "c1.x-y_z"


def test_cluster_flag_is_checked_too():
    with pytest.raises(ConfigError, match="cluster name"):
        load_config(None, {"cluster": "a/b"})
