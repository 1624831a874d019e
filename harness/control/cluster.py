"""Cluster lifecycle: a bridge network and one container per node, all labelled.

    c = Cluster(name="splitbrain", nodes=5)   # image: the current node image (built if missing)
    c.up()            # removes this name's leftovers, starts n1..n5, waits until they answer
    c.remotes["n1"].run("getent hosts n2")    # DockerRemote per node
    c.ips             # {"n1": "172.20.0.2", ...}, as Docker reports them on our network
    c.down()          # removes the containers and the network

Every object carries the labels ``splitbrain=1`` and ``splitbrain.cluster=<name>`` (containers
also ``splitbrain.node=<n>``), so whatever a killed harness left behind is found again by
``down_all`` / the next ``up()``, and ``Cluster.attach(name)`` reconnects to a cluster left
running. Names: network ``splitbrain-<name>``, containers ``splitbrain-<name>-n1`` with
hostname and network alias ``n1``, so nodes resolve each other by short name.

Nodes get exactly one extra capability, NET_ADMIN (iptables, tc), and are never privileged.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Self, TypeVar

import docker.errors
from docker.client import DockerClient
from docker.models.containers import Container
from docker.models.networks import Network

from harness.api import Remote
from harness.control.docker import DockerRemote
from harness.control.image import DOCKER_ERRORS, docker_client, ensure_image
from harness.errors import ClusterError, ConfigError, RemoteError, SplitbrainError

T = TypeVar("T")

LABEL = "splitbrain"
LABEL_CLUSTER = "splitbrain.cluster"
LABEL_NODE = "splitbrain.node"
_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,40}$")
# What "ready" means: node-init has started sshd (it writes the marker after sshd listens).
_READY = ("until [ -e /run/splitbrain-ready ]; do sleep 0.02; done; "
          "nc -z -w 2 127.0.0.1 22")


def check_name(name: object) -> str:
    """``name`` if it can name a cluster (its containers, network and lock file), else one
    ConfigError line saying what would be right."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ConfigError(f"cluster name {name!r} is not usable: use letters, digits, '_', '.', "
                          "'-' (at most 41, starting with a letter or digit)")
    return name


@contextlib.contextmanager
def cluster_lock(name: str, *, wait: float = 0.0) -> Iterator[None]:
    """One user of a cluster name at a time on this machine: two would tear down each other's
    nodes. Waits up to ``wait`` seconds for the other user, then raises ConfigError."""
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"splitbrain-{name}.lock"
    with path.open("w") as f:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise ConfigError(
                        f"another splitbrain run is using cluster {name!r}; wait for it, or "
                        "pass a different --cluster name") from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def network_name(name: str) -> str:
    return f"splitbrain-{name}"


def container_name(name: str, node: str) -> str:
    return f"splitbrain-{name}-{node}"


class Cluster:
    """``nodes`` containers named n1..nN on a dedicated bridge network.

    ``image`` defaults to the current node image, built on ``up()`` if missing. ``client`` is
    a docker-py client, shared by every DockerRemote of this cluster.
    """

    def __init__(self, name: str = "splitbrain", nodes: int = 5, image: str | None = None,
                 client: DockerClient | None = None, *,
                 ready_timeout: float = 30.0, log: Callable[[str], None] | None = None) -> None:
        check_name(name)
        if not isinstance(nodes, int) or nodes < 1:
            raise ConfigError(f"a cluster needs at least one node, got {nodes!r}")
        self.name = name
        self.nodes: list[str] = [f"n{i}" for i in range(1, nodes + 1)]
        self.image = image
        self.client = client or docker_client()
        self.ready_timeout = ready_timeout
        self.log = log or (lambda _msg: None)
        self.network = network_name(name)
        self._containers: dict[str, str] = {}  # node -> container name
        self._remotes: dict[str, Remote] = {}
        self._ips: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"Cluster({self.name!r}, nodes={len(self.nodes)}, up={bool(self._remotes)})"

    def __enter__(self) -> Self:
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    # --- what a running cluster offers -------------------------------------------------------

    @property
    def remotes(self) -> dict[str, Remote]:
        """node -> DockerRemote, in node order."""
        self._require_up()
        return dict(self._remotes)

    @property
    def ips(self) -> dict[str, str]:
        """node -> IPv4 address on the cluster network, as Docker reports it."""
        self._require_up()
        return dict(self._ips)

    @property
    def containers(self) -> dict[str, str]:
        """node -> container name (``splitbrain-<name>-n1``)."""
        self._require_up()
        return dict(self._containers)

    def _require_up(self) -> None:
        if not self._remotes:
            raise ClusterError(f"cluster {self.name!r} is not up: call up() or "
                               "Cluster.attach(name) first")

    # --- lifecycle ---------------------------------------------------------------------------

    def up(self) -> Cluster:
        """Start the cluster from scratch and wait until every node answers; on failure
        remove whatever was created and raise ClusterError."""
        t0 = time.monotonic()
        image = self.image or ensure_image(self.client, log=self.log)
        _require_image(self.client, image)
        left = down_all(self.client, self.name)
        if left:
            self.log(f"cluster {self.name}: removed {left} leftover container(s)/network(s)")
        try:
            net = self._create_network()
            started = _parallel(self.nodes, lambda n: self._create_node(image, n))
            self._containers = {n: c.name for n, c in zip(self.nodes, started)}
            self._ips = _network_ips(net, {n: c.id for n, c in zip(self.nodes, started)},
                                     self._containers)
            self._remotes = {n: DockerRemote(c, n, client=self.client)
                             for n, c in zip(self.nodes, started)}
            _parallel(self.nodes, self._wait_ready)
        except BaseException:
            self._forget()
            try:
                down_all(self.client, self.name)
            except SplitbrainError:
                pass  # the first error is the one to report
            raise
        self.log(f"cluster {self.name}: {len(self.nodes)} nodes up in "
                 f"{time.monotonic() - t0:.1f} s")
        return self

    def down(self) -> int:
        """Remove this cluster's containers and network (also those of an earlier, crashed
        run under the same name). Returns how many objects were removed."""
        self._forget()
        return down_all(self.client, self.name)

    def status(self) -> list[dict[str, Any]]:
        """One row per container of this cluster: cluster, node, container, state, ip."""
        return status_all(self.client, self.name)

    @classmethod
    def attach(cls, name: str = "splitbrain", client: DockerClient | None = None
               ) -> Cluster:
        """The cluster ``name`` that is already running (``--leave-running``), with remotes
        and ips; ClusterError if it has no running node."""
        client = client or docker_client()
        found = {c["Labels"].get(LABEL_NODE, ""): c for c in _labelled_containers(client, name)
                 if c.get("State") == "running"}
        if not found:
            raise ClusterError(f"no running nodes of cluster {name!r}: "
                               f"start one with `splitbrain cluster up --name {name}`")
        self = cls(name, nodes=len(found), client=client)
        self.nodes = sorted(found, key=_node_key)
        self._containers = {n: _cname(found[n]) for n in self.nodes}
        try:
            net = client.networks.get(self.network)
        except DOCKER_ERRORS as e:
            raise ClusterError(f"cluster {name!r}: network {self.network} is gone "
                               f"({_explain(e)}); `splitbrain cluster up --name {name}` "
                               "makes a new one") from None
        self._ips = _network_ips(net, {n: found[n]["Id"] for n in self.nodes},
                                 self._containers)
        self._remotes = {n: DockerRemote(found[n]["Id"], n, client=client)
                         for n in self.nodes}
        return self

    # --- steps -------------------------------------------------------------------------------

    def _labels(self, node: str | None = None) -> dict[str, str]:
        labels = {LABEL: "1", LABEL_CLUSTER: self.name}
        if node is not None:
            labels[LABEL_NODE] = node
        return labels

    def _create_network(self) -> Network:
        try:
            existing = self.client.networks.list(names=[self.network])
            if any(n.name == self.network for n in existing):
                raise ClusterError(f"a network named {self.network} exists and is not ours "
                                   "(no splitbrain label); remove it or pick another name")
            return self.client.networks.create(self.network, driver="bridge",
                                               labels=self._labels(), check_duplicate=True)
        except DOCKER_ERRORS as e:
            raise ClusterError(f"cannot create network {self.network}: {_explain(e)}") from None

    def _create_node(self, image: str, node: str) -> Container:
        name = container_name(self.name, node)
        try:
            endpoint = self.client.api.create_endpoint_config(aliases=[node])
            # create + start, never containers.run: run() pulls a missing image, and there
            # is no registry to pull from (nor should we ever ask one)
            c = self.client.containers.create(
                image, detach=True, name=name, hostname=node, labels=self._labels(node),
                network=self.network, networking_config={self.network: endpoint},
                cap_add=["NET_ADMIN"], privileged=False, init=False, stop_signal="SIGKILL")
            c.start()
            return c
        except docker.errors.ImageNotFound:
            raise ClusterError(f"image {image} not found: run `splitbrain image build`"
                               ) from None
        except DOCKER_ERRORS as e:
            raise ClusterError(f"cannot start {name}: {_explain(e)}") from None

    def _wait_ready(self, node: str) -> None:
        try:
            self._remotes[node].run(_READY, timeout=self.ready_timeout)
        except RemoteError as e:
            name = self._containers[node]
            try:
                c = self.client.containers.get(name)
                logs = c.logs(tail=5).decode(errors="replace").strip().replace("\n", " | ")
                state = c.status
            except DOCKER_ERRORS:
                logs, state = "", "gone"
            raise ClusterError(f"node {node} ({name}) did not become ready: {e}; "
                               f"container {state}{': ' + logs if logs else ''}") from None

    def _forget(self) -> None:
        self._containers, self._remotes, self._ips = {}, {}, {}


# --- every cluster on this engine --------------------------------------------------------------

def down_all(client: DockerClient | None = None, name: str | None = None) -> int:
    """Remove every labelled splitbrain container and network (of cluster ``name`` only, if
    given). Returns how many objects were removed; ClusterError if some could not be."""
    client = client or docker_client()
    containers = _labelled_containers(client, name)
    failed: list[str] = []

    def remove(c: dict[str, Any]) -> int:
        try:
            client.api.remove_container(c["Id"], force=True, v=True)
            return 1
        except docker.errors.NotFound:
            return 0  # gone already: someone else's down_all, or auto-removed
        except DOCKER_ERRORS as e:
            failed.append(f"{_cname(c)}: {_explain(e)}")
            return 0

    removed = sum(_parallel(containers, remove)) if containers else 0
    try:
        networks = client.networks.list(filters={"label": _label_filter(name)})
    except DOCKER_ERRORS as e:
        raise ClusterError(f"cannot list networks: {_explain(e)}") from None
    for net in networks:
        try:
            _remove_network(net)
            removed += 1
        except docker.errors.NotFound:
            pass
        except DOCKER_ERRORS as e:
            failed.append(f"{net.name}: {_explain(e)}")
    if failed:
        raise ClusterError(f"could not remove {len(failed)} object(s): {'; '.join(failed)}")
    return removed


def status_all(client: DockerClient | None = None,
               name: str | None = None) -> list[dict[str, Any]]:
    """Rows ``{"cluster", "node", "container", "state", "ip"}`` for every labelled container
    (of cluster ``name`` only, if given), sorted by cluster and node."""
    client = client or docker_client()
    rows = []
    for c in _labelled_containers(client, name):
        labels = c.get("Labels") or {}
        cluster = labels.get(LABEL_CLUSTER, "")
        nets = (c.get("NetworkSettings") or {}).get("Networks") or {}
        ip = (nets.get(network_name(cluster)) or {}).get("IPAddress") or ""
        rows.append({"cluster": cluster, "node": labels.get(LABEL_NODE, ""),
                     "container": _cname(c), "state": c.get("State", ""), "ip": ip})
    return sorted(rows, key=lambda r: (r["cluster"], _node_key(r["node"])))


# --- helpers -----------------------------------------------------------------------------------

def _label_filter(name: str | None) -> list[str]:
    return [f"{LABEL}=1"] + ([f"{LABEL_CLUSTER}={name}"] if name is not None else [])


def _labelled_containers(client: DockerClient, name: str | None) -> list[dict[str, Any]]:
    """The raw list-API rows (Id, Names, Labels, State, NetworkSettings): one HTTP call,
    where docker-py's models would inspect every container once more."""
    try:
        rows = client.api.containers(all=True, filters={"label": _label_filter(name)})
    except DOCKER_ERRORS as e:
        raise ClusterError(f"cannot list containers: {_explain(e)}") from None
    for r in rows:
        r["Labels"] = r.get("Labels") or {}
    return list(rows)


def _cname(row: dict[str, Any]) -> str:
    names = row.get("Names") or [row.get("Id", "?")[:12]]
    return str(names[0]).lstrip("/")


def _require_image(client: DockerClient, image: str) -> None:
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        raise ClusterError(f"image {image} not found: run `splitbrain image build`") from None
    except DOCKER_ERRORS as e:
        raise ClusterError(f"cannot inspect image {image}: {_explain(e)}") from None


def _remove_network(net: Network) -> None:
    try:
        net.remove()
    except docker.errors.APIError as e:
        if "active endpoints" not in str(e):
            raise
        # something not labelled joined our network; it cannot stay on a network we remove
        net.reload()
        for c in net.containers:
            net.disconnect(c, force=True)
        net.remove()


def _network_ips(net: Network, ids: dict[str, str], names: dict[str, str]) -> dict[str, str]:
    """node -> IPv4 from one inspect of the network (cheaper than one per container)."""
    try:
        net.reload()
    except DOCKER_ERRORS as e:
        raise ClusterError(f"cannot inspect network {net.name}: {_explain(e)}") from None
    by_id = {cid: info for cid, info in (net.attrs.get("Containers") or {}).items()}
    ips = {}
    for node, cid in ids.items():
        addr = (by_id.get(cid) or {}).get("IPv4Address", "")
        if not addr:
            raise ClusterError(f"node {node} ({names[node]}) has no address on {net.name}")
        ips[node] = addr.split("/", 1)[0]
    return ips


def _node_key(node: str) -> tuple[str, int]:
    m = re.match(r"^(.*?)(\d+)$", node)
    return (m.group(1), int(m.group(2))) if m else (node, 0)


def _parallel(items: Iterable[Any], fn: Callable[[Any], T]) -> list[T]:
    """fn over items in threads (Docker calls mostly wait), results in input order; the first
    exception is re-raised after all calls finish."""
    items = list(items)
    if len(items) <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(len(items), 8),
                            thread_name_prefix="cluster") as pool:
        futures = [pool.submit(fn, i) for i in items]
        errors = [f.exception() for f in futures]
        for e in errors:
            if e is not None:
                raise e
        return [f.result() for f in futures]


def _explain(e: Exception) -> str:
    return str(getattr(e, "explanation", None) or e).strip().splitlines()[0]
