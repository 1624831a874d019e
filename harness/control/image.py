"""The node image, built from Debian's packages: no container registry is needed.

Two steps, each tagged by a hash of its inputs so it is redone only when they change:

1. base: ``mmdebstrap --variant=apt --include=<docker/node/packages.txt> trixie`` writes a
   root filesystem as a tar, ``docker import`` makes it ``splitbrain-base:<hash>``
   (hash of the package list, suite, mirror and BUILDER_VERSION; ~40-60 s, network-bound);
2. node: ``docker build`` of docker/node/Dockerfile FROM that base adds sshd, tini as
   PID 1 and our directories: ``splitbrain-node:<hash>`` (hash of the base tag and every
   file under docker/node; a few seconds).

    image_tag()                  -> "splitbrain-node:3f9a0c1b2d4e"
    ensure_image(log=print)      builds if missing, returns the tag
    build_image(force=True)      rebuilds both steps (fresh packages)

Trixie, not bookworm: bookworm's libfaketime breaks Python's sleeps and thread waits under a
shifted clock, which the clock nemesis needs.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

import docker.errors
from docker.client import DockerClient

from harness.errors import ClusterError

Log = Callable[[str], None]

NODE_DIR = Path(__file__).resolve().parents[2] / "docker" / "node"
PACKAGES_FILE = NODE_DIR / "packages.txt"
SUITE = "trixie"
MIRROR = "http://deb.debian.org/debian"
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
IMAGE_REPO = "splitbrain-node"
BASE_REPO = "splitbrain-base"
# Bump when the recipe in this module changes in a way the hashed files cannot show.
BUILDER_VERSION = "1"
# Leave out documentation and translations: a smaller tar imports faster.
DPKG_OPTS = ["path-exclude=/usr/share/man/*", "path-exclude=/usr/share/doc/*",
             "path-include=/usr/share/doc/*/copyright", "path-exclude=/usr/share/locale/*",
             "path-exclude=/usr/share/info/*"]
INSTALL_HINT = "run scripts/install-deps.sh"
# What a Docker call can raise: the SDK's errors, and requests' (OSError subclasses) when the
# engine goes away mid-call.
DOCKER_ERRORS = (docker.errors.DockerException, OSError)


def docker_client() -> DockerClient:
    """A client for the local Docker engine (DOCKER_HOST etc. honoured), or ClusterError."""
    try:
        # a bigger pool than the default 10: nemeses, db setup and log collection run
        # commands on every node from threads at once
        return DockerClient.from_env(max_pool_size=32)
    except DOCKER_ERRORS as e:
        raise ClusterError(f"cannot reach the Docker engine ({e}); is it running, and may "
                           "this user use /var/run/docker.sock?") from None


# --- tags ------------------------------------------------------------------------------------

def read_packages(path: Path = PACKAGES_FILE) -> list[str]:
    """Package names from a list file: one per line, ``#`` comments, blank lines ignored."""
    names: list[str] = []
    for line in path.read_text().splitlines():
        name = line.split("#", 1)[0].strip()
        if name:
            names.append(name)
    return names


def mmdebstrap_argv(packages: list[str], out: str) -> list[str]:
    return ["mmdebstrap", "--variant=apt", f"--include={','.join(packages)}",
            *(f"--dpkgopt={o}" for o in DPKG_OPTS),
            *([f"--keyring={KEYRING}"] if KEYRING.exists() else []),
            SUITE, out, MIRROR]


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        # length-prefixed, so ("ab", "c") and ("a", "bc") differ
        h.update(len(p).to_bytes(8, "big"))
        h.update(p)
    return h.hexdigest()[:12]


def base_tag(node_dir: Path = NODE_DIR) -> str:
    argv = mmdebstrap_argv(sorted(read_packages(node_dir / "packages.txt")), "-")
    argv = [a for a in argv if not a.startswith("--keyring")]  # where keys live is no input
    return f"{BASE_REPO}:{_digest(BUILDER_VERSION.encode(), *(a.encode() for a in argv))}"


def context_files(node_dir: Path = NODE_DIR) -> list[Path]:
    """The build inputs under docker/node, sorted; editor and cache droppings left out."""
    return sorted(p for p in node_dir.rglob("*")
                  if p.is_file() and not any(part.startswith(".") or part == "__pycache__"
                                             for part in p.relative_to(node_dir).parts)
                  and not p.name.endswith("~"))


def image_tag(node_dir: Path = NODE_DIR) -> str:
    """``splitbrain-node:<12 hex>``: sha256 over the base tag and every file in docker/node
    (relative path, executable bit and content), so any change of input means a new tag."""
    parts = [BUILDER_VERSION.encode(), base_tag(node_dir).encode()]
    for p in context_files(node_dir):
        parts += [p.relative_to(node_dir).as_posix().encode(),
                  b"x" if os.access(p, os.X_OK) else b"-", p.read_bytes()]
    return f"{IMAGE_REPO}:{_digest(*parts)}"


# --- building --------------------------------------------------------------------------------

def ensure_image(client: DockerClient | None = None, *, force: bool = False,
                 log: Log = print) -> str:
    """Return the node image's tag, building it first if it is missing (or ``force``)."""
    client = client or docker_client()
    tag = image_tag()
    if not force and _exists(client, tag):
        return tag  # the common case, without touching the lock
    with _build_lock(log):
        # checked under the lock: a concurrent build may have just made it
        if not force and _exists(client, tag):
            return tag
        return build_image(client, force=force, log=log)


def build_image(client: DockerClient | None = None, *, force: bool = False,
                log: Log = print) -> str:
    """Build the node image now (and its base, if missing or ``force``); return its tag."""
    client = client or docker_client()
    base, tag = base_tag(), image_tag()
    t0 = time.monotonic()
    if force or not _exists(client, base):
        build_base(client, base, log=log)
    else:
        log(f"image: base {base} already present")
    _build_node(client, base, tag, log)
    log(f"image: {tag} built in {time.monotonic() - t0:.1f} s")
    return tag


def build_base(client: DockerClient, tag: str, *, log: Log = print) -> None:
    """Step 1: mmdebstrap a trixie root filesystem into a tar and ``docker import`` it."""
    if shutil.which("mmdebstrap") is None:
        raise ClusterError(f"mmdebstrap not found: {INSTALL_HINT}")
    if os.geteuid() != 0:
        raise ClusterError("building the node image needs root (mmdebstrap in root mode); "
                           "run `splitbrain image build` as root once")
    packages = read_packages()
    log(f"image: step 1/2: mmdebstrap {SUITE} with {len(packages)} packages -> {tag}")
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="splitbrain-base-") as tmp:
        out = Path(tmp) / "rootfs.tar"
        _run_mmdebstrap(mmdebstrap_argv(packages, str(out)), log)
        log(f"image: root filesystem {out.stat().st_size / 1e6:.0f} MB in "
            f"{time.monotonic() - t0:.1f} s; docker import")
        repo, _, version = tag.partition(":")
        try:
            client.api.import_image(
                str(out), repository=repo, tag=version,
                changes=["LABEL splitbrain.image=base", 'CMD ["/bin/sh"]'])
        except DOCKER_ERRORS as e:
            raise ClusterError(f"docker import of the node base failed: {e}") from None
    if not _exists(client, tag):
        raise ClusterError(f"docker import reported success but {tag} is missing")
    log(f"image: step 1/2 done in {time.monotonic() - t0:.1f} s")


def _run_mmdebstrap(argv: list[str], log: Log) -> None:
    tail: deque[str] = deque(maxlen=15)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True, errors="replace")
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip()
        tail.append(line)
        # mmdebstrap's own steps ("I: downloading packages with apt..."), not apt's chatter
        if line.startswith(("I: ", "W: ", "E: ")):
            log(f"image:   {line}")
    if proc.wait() != 0:
        errs = [ln for ln in tail if ln.startswith("E:")] or list(tail)[-1:] or ["no output"]
        raise ClusterError(f"mmdebstrap failed (exit {proc.returncode}): {errs[-1]} "
                           f"(is {MIRROR} reachable? see `splitbrain image build`)")


def _build_node(client: DockerClient, base: str, tag: str, log: Log) -> None:
    """Step 2: docker build of docker/node FROM the base. The context is exactly the hashed
    files, so the tag always describes what was built."""
    log(f"image: step 2/2: docker build {tag} FROM {base}")
    t0 = time.monotonic()
    try:
        chunks = client.api.build(fileobj=_context_tar(), custom_context=True, tag=tag,
                                  buildargs={"BASE": base}, rm=True, forcerm=True, pull=False,
                                  decode=True, labels={"splitbrain.image": "node"})
        for chunk in chunks:
            if "error" in chunk:
                msg = str(chunk.get("error", "")).strip().splitlines()
                raise ClusterError(f"docker build of {tag} failed: "
                                   f"{msg[-1] if msg else 'unknown error'}")
            line = str(chunk.get("stream", "")).strip()
            if line.startswith("Step "):
                log(f"image:   {line}")
    except DOCKER_ERRORS as e:
        raise ClusterError(f"docker build of {tag} failed: {e}") from None
    if not _exists(client, tag):
        raise ClusterError(f"docker build finished but {tag} is missing")
    log(f"image: step 2/2 done in {time.monotonic() - t0:.1f} s")


def _context_tar(node_dir: Path = NODE_DIR) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for p in context_files(node_dir):
            info = tar.gettarinfo(str(p), arcname=p.relative_to(node_dir).as_posix())
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = 0  # the build cache keys on content, not on checkout times
            with p.open("rb") as f:
                tar.addfile(info, f)
    buf.seek(0)
    return buf


def _exists(client: DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False
    except DOCKER_ERRORS as e:
        raise ClusterError(f"cannot inspect image {tag}: {e}") from None


@contextlib.contextmanager
def _build_lock(log: Log) -> Iterator[None]:
    """One image build at a time on this machine (two `run`s starting together)."""
    path = Path(tempfile.gettempdir()) / "splitbrain-image.lock"
    with path.open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("image: another process is building the image; waiting for it")
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
