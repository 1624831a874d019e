"""The node image and the cluster lifecycle, on real containers."""
from __future__ import annotations

import time

import docker.errors
import pytest
from docker.client import DockerClient

from harness.control.cluster import Cluster, down_all, status_all
from harness.control.docker import DockerRemote
from harness.control.image import image_tag
from harness.errors import ClusterError, ConfigError, RemoteError

pytestmark = pytest.mark.integration

FAKETIME_PY = ("import time,threading; time.sleep(0.1); threading.Event().wait(0.1); "
               "print(time.time())")


def labelled(client: DockerClient, name: str) -> list[object]:
    flt = {"label": f"splitbrain.cluster={name}"}
    return client.containers.list(all=True, filters=flt) + client.networks.list(filters=flt)


# --- the image -----------------------------------------------------------------------------

def test_image_is_tagged_by_its_inputs_and_labelled(node_image, docker_engine):
    assert node_image == image_tag()
    img = docker_engine.images.get(node_image)
    assert img.labels.get("splitbrain.image") == "node"
    assert img.attrs["Config"]["Entrypoint"] == ["/usr/bin/tini", "--"]


def test_libfaketime_shifts_python_clock_without_breaking_sleeps(cluster3):
    r = cluster3.remotes["n1"]
    lib = r.run("ls /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1").stdout.strip()
    before = time.time()
    res = r.run(f"FAKETIME='+1h' FAKETIME_DONT_FAKE_MONOTONIC=1 LD_PRELOAD={lib} "
                f"python3 -c '{FAKETIME_PY}'", timeout=20)
    shift = float(res.stdout) - before
    assert 3590 < shift < 3620, shift
    # without it, the node's clock is the host's
    assert abs(float(r.run(f"python3 -c '{FAKETIME_PY}'").stdout) - time.time()) < 5


def test_node_layout_tini_sshd_and_tools(cluster3):
    r = cluster3.remotes["n2"]
    assert r.run("cat /proc/1/comm").stdout.strip() == "tini"
    assert r.run("nc -z -w 2 127.0.0.1 22").ok
    r.run("test -d /opt/splitbrain -a -d /var/lib/splitbrain -a -d /var/log/splitbrain")
    for tool in ("python3", "iptables", "ip", "tc", "pkill", "faketime", "timeout", "nc",
                 "ping", "killall"):
        r.run(f"command -v {tool}")
    assert "trixie" in r.run("cat /etc/os-release").stdout
    assert r.run("iptables -S").ok, "NET_ADMIN lets a node change its own firewall"


def test_each_node_has_its_own_ssh_host_key(cluster3):
    keys = {r.run("cat /etc/ssh/ssh_host_ed25519_key.pub").stdout.split()[1]
            for r in cluster3.remotes.values()}
    assert len(keys) == 3


def test_tini_reaps_killed_processes(cluster3):
    r = cluster3.remotes["n3"]
    # a daemon whose parent exited is re-parented to PID 1; killed, it must not stay a zombie
    pid = r.run("sh -c 'sleep 300 > /dev/null 2>&1 < /dev/null & echo $!'").stdout.strip()
    assert r.run(f"ps -o ppid= -p {pid}").stdout.strip() == "1"
    r.run(f"kill -9 {pid}")
    deadline = time.monotonic() + 5
    while r.run(f"ps -o stat= -p {pid}", check=False).stdout.strip():
        assert time.monotonic() < deadline, "still there (a zombie?)"
        time.sleep(0.05)


# --- a running cluster ---------------------------------------------------------------------

def test_nodes_names_and_addresses(cluster3, docker_engine):
    assert cluster3.nodes == ["n1", "n2", "n3"]
    assert list(cluster3.remotes) == ["n1", "n2", "n3"]
    assert all(isinstance(r, DockerRemote) for r in cluster3.remotes.values())
    net = docker_engine.networks.get("splitbrain-itest")
    for n in cluster3.nodes:
        c = docker_engine.containers.get(f"splitbrain-itest-{n}")
        assert c.attrs["Config"]["Hostname"] == n
        assert c.attrs["NetworkSettings"]["Networks"]["splitbrain-itest"]["IPAddress"] == \
            cluster3.ips[n]
        assert cluster3.remotes[n].run("hostname").stdout.strip() == n
    assert net.attrs["Driver"] == "bridge"


def test_nodes_resolve_and_reach_each_other_by_short_name(cluster3):
    r1 = cluster3.remotes["n1"]
    line = r1.run("getent hosts n2").stdout.split()
    assert line[0] == cluster3.ips["n2"]
    r1.run("ping -c1 -W1 n2", timeout=10)
    cluster3.remotes["n3"].run("ping -c1 -W1 n1", timeout=10)


def test_labels_and_capabilities(cluster3, docker_engine):
    for n in cluster3.nodes:
        c = docker_engine.containers.get(f"splitbrain-itest-{n}")
        want = {"splitbrain": "1", "splitbrain.cluster": "itest", "splitbrain.node": n}
        assert want.items() <= c.labels.items()
        host = c.attrs["HostConfig"]
        assert host["Privileged"] is False
        assert host["CapAdd"] == ["NET_ADMIN"]
    net = docker_engine.networks.get("splitbrain-itest")
    assert net.attrs["Labels"] == {"splitbrain": "1", "splitbrain.cluster": "itest"}


def test_status_and_attach(cluster3, docker_engine):
    rows = cluster3.status()
    assert [(r["node"], r["state"], r["ip"]) for r in rows] == [
        (n, "running", cluster3.ips[n]) for n in cluster3.nodes]
    assert rows == status_all(docker_engine, "itest")
    again = Cluster.attach("itest", client=docker_engine)
    assert again.nodes == cluster3.nodes and again.ips == cluster3.ips
    assert again.remotes["n2"].run("hostname").stdout.strip() == "n2"
    with pytest.raises(ClusterError, match="no running nodes of cluster 'itest-nothing'"):
        Cluster.attach("itest-nothing", client=docker_engine)


# --- lifecycle (their own small clusters) --------------------------------------------------

def test_crashed_run_leftovers_are_removed_and_down_leaves_nothing(node_image, docker_engine,
                                                                   itest_lock):
    name = "itest-crash"
    first = Cluster(name=name, nodes=2, image=node_image, client=docker_engine).up()
    old_ids = {c.id for c in docker_engine.containers.list(
        filters={"label": f"splitbrain.cluster={name}"})}
    stale = first.remotes["n1"]
    del first  # "the harness crashed": nothing called down()
    c = Cluster(name=name, nodes=2, image=node_image, client=docker_engine)
    try:
        c.up()
        new_ids = {x.id for x in docker_engine.containers.list(
            filters={"label": f"splitbrain.cluster={name}"})}
        assert len(new_ids) == 2 and not new_ids & old_ids
        c.remotes["n2"].run("getent hosts n1")
        with pytest.raises(RemoteError, match="could not be started"):
            stale.run("true")
    finally:
        removed = c.down()
    assert removed == 3  # two containers, one network
    assert labelled(docker_engine, name) == []
    assert c.down() == 0, "down is idempotent"
    with pytest.raises(ClusterError, match="not up"):
        _ = c.remotes


def test_down_all_removes_only_the_named_cluster(node_image, docker_engine, itest_lock,
                                                 cluster3):
    a = Cluster(name="itest-a", nodes=1, image=node_image, client=docker_engine).up()
    try:
        assert down_all(docker_engine, name="itest-a") == 2
        assert labelled(docker_engine, "itest-a") == []
        # the shared cluster is untouched
        assert cluster3.remotes["n1"].run("true").ok
    finally:
        a.down()
    # (down_all with name=None would also remove other people's clusters on this engine,
    # so it is not exercised here.)


def test_up_failure_leaves_nothing_and_says_why(docker_engine, itest_lock):
    c = Cluster(name="itest-bad", nodes=2, image="splitbrain-node:doesnotexist",
                client=docker_engine)
    with pytest.raises(ClusterError, match="image splitbrain-node:doesnotexist not found"):
        c.up()
    assert labelled(docker_engine, "itest-bad") == []


def test_bad_names_are_config_errors(docker_engine):
    with pytest.raises(ConfigError):
        Cluster(name="no spaces", client=docker_engine)
    with pytest.raises(ConfigError):
        Cluster(name="x", nodes=0, client=docker_engine)


def test_a_foreign_network_with_our_name_is_not_taken_over(node_image, docker_engine,
                                                           itest_lock):
    net = docker_engine.networks.create("splitbrain-itest-foreign", driver="bridge")
    try:
        with pytest.raises(ClusterError, match="exists and is not ours"):
            Cluster(name="itest-foreign", nodes=1, image=node_image,
                    client=docker_engine).up()
        net.reload()  # still there
    finally:
        try:
            net.remove()
        except docker.errors.NotFound:
            pass
