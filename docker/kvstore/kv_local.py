"""A kvstore cluster on loopback, one process per node: for tests and benchmarks on the host.

    >>> with LocalCluster(["n1", "n2", "n3"], "primary", tmp_dir) as c:   # doctest: +SKIP
    ...     host, port = c.addr("n2")
    ...     c.kill("n1"); c.start("n1")        # SIGKILL and restart, data kept

Each node gets its own free port, data dir and log file under ``base_dir``; ``--peer-addr``
maps node names to loopback addresses. Not used on the nodes themselves.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Self

HERE = Path(__file__).resolve().parent


def free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class LocalCluster:
    def __init__(self, nodes: Sequence[str], mode: str, base_dir: Path | str,
                 extra_args: Sequence[str] = (), python: str = sys.executable):
        self.nodes, self.mode = list(nodes), mode
        self.base = Path(base_dir)
        self.extra_args, self.python = list(extra_args), python
        self.ports = dict(zip(self.nodes, free_ports(len(self.nodes))))
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def addr(self, node: str) -> tuple[str, int]:
        return "127.0.0.1", self.ports[node]

    def log_path(self, node: str) -> Path:
        return self.base / f"{node}.log"

    def data_dir(self, node: str) -> Path:
        return self.base / f"{node}-data"

    def command(self, node: str) -> list[str]:
        peers = ",".join(f"{n}=127.0.0.1:{p}" for n, p in self.ports.items())
        return [self.python, str(HERE / "kvstore.py"), "--node", node,
                "--nodes", ",".join(self.nodes), "--port", str(self.ports[node]),
                "--host", "127.0.0.1", "--peer-addr", peers, "--mode", self.mode,
                "--data-dir", str(self.data_dir(node)), "--log-file", str(self.log_path(node)),
                "--seed", str(self.nodes.index(node) + 1), *self.extra_args]

    def start(self, node: str, wait: float = 10.0) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        out = open(self.log_path(node), "ab")  # the child owns it now
        self.procs[node] = subprocess.Popen(self.command(node), stdout=out, stderr=out,
                                            stdin=subprocess.DEVNULL)
        out.close()
        self.wait_ready(node, wait)

    def wait_ready(self, node: str, wait: float = 10.0) -> None:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.procs[node].poll() is not None:
                raise RuntimeError(f"{node} exited {self.procs[node].returncode}: "
                                   f"{self.log_path(node).read_text()[-2000:]}")
            try:
                socket.create_connection(self.addr(node), 0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"{node} did not listen within {wait}s")

    def start_all(self) -> None:
        for n in self.nodes:
            self.start(n)

    def kill(self, node: str) -> None:
        p = self.procs.get(node)
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()

    def pause(self, node: str) -> None:
        os.kill(self.procs[node].pid, signal.SIGSTOP)

    def resume(self, node: str) -> None:
        os.kill(self.procs[node].pid, signal.SIGCONT)

    def stop_all(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                os.kill(p.pid, signal.SIGCONT)
                p.terminate()
        for p in self.procs.values():
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def __enter__(self) -> Self:
        self.start_all()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()
