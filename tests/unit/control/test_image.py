"""The node image's tag is a hash of its inputs; building needs mmdebstrap (no Docker here:
the builds themselves are exercised by tests/integration)."""
from __future__ import annotations

import io
import re
import shutil
import tarfile
from pathlib import Path

import docker.errors
import pytest

from harness.control import image
from harness.errors import ClusterError

REPO = Path(__file__).resolve().parents[3]
NEEDED = {"python3", "iptables", "iproute2", "procps", "faketime", "libfaketime",
          "openssh-server", "tini", "netcat-openbsd", "iputils-ping", "coreutils",
          "ca-certificates"}


@pytest.fixture
def node_dir(tmp_path):
    d = tmp_path / "node"
    shutil.copytree(image.NODE_DIR, d)
    return d


def test_tag_format_and_stability():
    tag = image.image_tag()
    assert re.fullmatch(r"splitbrain-node:[0-9a-f]{12}", tag)
    assert image.image_tag() == tag
    assert re.fullmatch(r"splitbrain-base:[0-9a-f]{12}", image.base_tag())


def test_a_copy_of_the_inputs_has_the_same_tag(node_dir):
    assert image.image_tag(node_dir) == image.image_tag()


def test_any_input_change_changes_the_tag_but_the_base_only_for_packages(node_dir):
    tag, base = image.image_tag(node_dir), image.base_tag(node_dir)
    (node_dir / "sshd_config").write_text((node_dir / "sshd_config").read_text() + "# x\n")
    tag2 = image.image_tag(node_dir)
    assert tag2 != tag and image.base_tag(node_dir) == base, "config: no new mmdebstrap"
    (node_dir / "extra.conf").write_text("new file")
    tag3 = image.image_tag(node_dir)
    assert tag3 not in (tag, tag2)
    (node_dir / "extra.conf").chmod(0o755)
    assert image.image_tag(node_dir) != tag3, "the executable bit is an input"
    with (node_dir / "packages.txt").open("a") as f:
        f.write("strace\n")
    assert image.base_tag(node_dir) != base


def test_comments_and_droppings_do_not_count(node_dir):
    tag = image.image_tag(node_dir)
    (node_dir / ".Dockerfile.swp").write_text("x")
    (node_dir / "Dockerfile~").write_text("x")
    assert image.image_tag(node_dir) == tag
    # reordering the package list does not rebuild the base
    pk = node_dir / "packages.txt"
    base = image.base_tag(node_dir)
    pk.write_text("\n".join(reversed(pk.read_text().splitlines())) + "\n")
    assert image.base_tag(node_dir) == base


def test_read_packages_ignores_comments_and_blank_lines(tmp_path):
    p = tmp_path / "p.txt"
    p.write_text("# header\npython3\n\n  tini  # PID 1\n#gone\n")
    assert image.read_packages(p) == ["python3", "tini"]


def test_the_package_list_has_what_nodes_need():
    assert NEEDED <= set(image.read_packages())


def test_mmdebstrap_builds_trixie_with_the_apt_variant():
    argv = image.mmdebstrap_argv(["python3", "tini"], "-")
    assert argv[0] == "mmdebstrap" and "--variant=apt" in argv
    assert "--include=python3,tini" in argv
    assert argv[-3:] == ["trixie", "-", "http://deb.debian.org/debian"]


def test_context_holds_exactly_the_hashed_files():
    with tarfile.open(fileobj=image._context_tar()) as tar:
        names = sorted(tar.getnames())
        init = tar.getmember("node-init.sh")
    assert names == sorted(p.relative_to(image.NODE_DIR).as_posix()
                           for p in image.context_files())
    assert {"Dockerfile", "packages.txt", "node-init.sh", "sshd_config"} <= set(names)
    assert init.mode & 0o111, "node-init stays executable"


def test_dockerfile_sets_up_tini_sshd_and_our_directories():
    text = (image.NODE_DIR / "Dockerfile").read_text()
    assert "FROM ${BASE}" in text and '"/usr/bin/tini"' in text
    for d in ("/opt/splitbrain", "/var/lib/splitbrain", "/var/log/splitbrain"):
        assert d in text
    conf = (image.NODE_DIR / "sshd_config").read_text()
    assert "PermitRootLogin prohibit-password" in conf and "PasswordAuthentication no" in conf


def test_no_init_py_in_docker_dir():
    # it would shadow the Docker SDK's `docker` package for anything run from the repo root
    assert not (REPO / "docker" / "__init__.py").exists()


class _Images:
    def get(self, tag):
        raise docker.errors.ImageNotFound(tag)


class _Client:
    images = _Images()


def test_missing_mmdebstrap_is_one_clear_line(monkeypatch):
    monkeypatch.setattr(image.shutil, "which", lambda _name: None)
    logged: list[str] = []
    with pytest.raises(ClusterError) as e:
        image.ensure_image(_Client(), log=logged.append)  # type: ignore[arg-type]
    assert str(e.value) == "mmdebstrap not found: run scripts/install-deps.sh"


def test_failing_mmdebstrap_reports_its_error_line(monkeypatch, tmp_path):
    script = tmp_path / "mmdebstrap"
    script.write_text("#!/bin/sh\necho 'I: running apt-get update...'\n"
                      "echo 'E: apt-get update failed: could not resolve deb.debian.org' >&2\n"
                      "exit 1\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.setattr(image.os, "geteuid", lambda: 0)
    logged: list[str] = []
    with pytest.raises(ClusterError, match="mmdebstrap failed .exit 1.: E: apt-get update "
                                           "failed: could not resolve"):
        image.build_base(_Client(), "splitbrain-base:x", log=logged.append)  # type: ignore[arg-type]
    assert any("running apt-get update" in line for line in logged)


def test_context_tar_is_reproducible():
    a, b = image._context_tar().getvalue(), image._context_tar().getvalue()
    assert a == b
    assert isinstance(image._context_tar(), io.BytesIO)
