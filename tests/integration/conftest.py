"""Fixtures for tests on real containers: the node image and one shared 3-node cluster.

``cluster3`` is session-scoped (starting nodes is the slow part) and named "itest"; it is torn
down at the end of the session whatever happened, and a session killed outright leaves
labelled containers that the next ``up()`` of the same name removes first. Two pytest
sessions on one machine take turns on it: the fixture holds the same per-name lock file as
`splitbrain run --cluster itest`, waiting for it rather than destroying the other's nodes.
Tests that change a node (iptables rules, files) must undo it.
"""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from docker.client import DockerClient

from harness.control.cluster import Cluster, cluster_lock
from harness.control.image import docker_client, ensure_image
from harness.errors import ClusterError, ConfigError

CLUSTER3 = "itest"
LOCK_WAIT = 900.0  # seconds: another session's whole integration run


@pytest.fixture(scope="session")
def docker_engine() -> DockerClient:
    try:
        client = docker_client()
        client.ping()
    except Exception as e:  # noqa: BLE001 -- any failure here means "no engine to test on"
        # scripts/test.sh (and so CI) sets SPLITBRAIN_REQUIRE_DOCKER: there a missing engine
        # is a failure, never a silently skipped integration suite.
        if os.environ.get("SPLITBRAIN_REQUIRE_DOCKER"):
            pytest.fail(f"no Docker engine: {e}")
        pytest.skip(f"no Docker engine: {e}")
    return client


@pytest.fixture(scope="session")
def node_image(docker_engine: DockerClient) -> str:
    """The current node image's tag, built first if missing (~1 min from scratch)."""
    return ensure_image(docker_engine, log=lambda m: print(m, flush=True))


@pytest.fixture(scope="session")
def itest_lock() -> Iterator[None]:
    """Held for the whole session: every cluster these tests make is named itest*."""
    try:
        with cluster_lock(CLUSTER3, wait=LOCK_WAIT):
            yield
    except ConfigError as e:
        pytest.fail(str(e))


@pytest.fixture(scope="session")
def cluster3(node_image: str, docker_engine: DockerClient, itest_lock: None
             ) -> Iterator[Cluster]:
    c = Cluster(name=CLUSTER3, nodes=3, image=node_image, client=docker_engine)
    try:
        c.up()  # cleans up after itself if it fails
        yield c
    finally:
        try:
            c.down()
        except ClusterError as e:
            print(f"cluster3 teardown: {e}")
