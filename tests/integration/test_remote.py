"""DockerRemote and SSHRemote against the nodes of the shared cluster."""
from __future__ import annotations

import io
import threading
import time

import paramiko
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from harness.api import Remote
from harness.control.ssh import SSHRemote
from harness.errors import RemoteError, RemoteTimeout

pytestmark = pytest.mark.integration


# --- DockerRemote ----------------------------------------------------------------------------

def test_run_separates_stdout_stderr_and_exit(cluster3):
    r = cluster3.remotes["n1"]
    assert isinstance(r, Remote)
    res = r.run("echo out; echo err >&2; exit 3", check=False)
    assert (res.node, res.exit_code, res.stdout, res.stderr) == ("n1", 3, "out\n", "err\n")
    assert res.command == "echo out; echo err >&2; exit 3"


def test_non_zero_exit_raises_with_fields(cluster3):
    with pytest.raises(RemoteError) as e:
        cluster3.remotes["n2"].run("echo first >&2; echo 'no such key' >&2; exit 7")
    err = e.value
    assert (err.node, err.command, err.exit_code) == (
        "n2", "echo first >&2; echo 'no such key' >&2; exit 7", 7)
    assert err.stderr == "first\nno such key\n"
    assert str(err).endswith("exited 7: no such key")


def test_argv_is_not_shell_interpreted(cluster3):
    res = cluster3.remotes["n1"].run(["echo", "a  b", "$HOME", ";true"])
    assert res.stdout == "a  b $HOME ;true\n"
    assert res.command == "echo 'a  b' '$HOME' ';true'"


def test_timeout_kills_the_command_and_its_children(cluster3):
    r = cluster3.remotes["n3"]
    t0 = time.monotonic()
    with pytest.raises(RemoteTimeout) as e:
        r.run("sleep 30 & sleep 31; echo never", timeout=1)
    assert 1 <= time.monotonic() - t0 < 3
    assert e.value.timeout == 1 and e.value.node == "n3" and e.value.exit_code is None
    time.sleep(0.2)
    assert r.run("pgrep -f 'sleep 3[01]'", check=False).exit_code == 1, "whole group killed"


def test_timeout_escalates_to_kill_for_a_command_ignoring_term(cluster3):
    t0 = time.monotonic()
    with pytest.raises(RemoteTimeout):
        cluster3.remotes["n3"].run("trap '' TERM; sleep 30", timeout=0.5)
    assert time.monotonic() - t0 < 4  # 0.5 s + kill-after 2 s


def test_a_command_exiting_124_early_is_not_a_timeout(cluster3):
    assert cluster3.remotes["n1"].run("exit 124", check=False).exit_code == 124


def test_client_side_deadline_when_the_exec_itself_hangs(cluster3, docker_engine):
    # A frozen container (docker pause, a cgroup freezer) freezes the node's own `timeout`
    # too: only the harness's deadline on the exec stream can end the call.
    from harness.control.docker import DockerRemote

    name = cluster3.containers["n2"]
    r = DockerRemote(name, "n2", client=docker_engine, kill_after=0.5, grace=0.5)
    container = docker_engine.containers.get(name)
    pauser = threading.Timer(0.3, container.pause)
    pauser.start()
    t0 = time.monotonic()
    try:
        with pytest.raises(RemoteTimeout):
            r.run("sleep 10", timeout=0.6)
        assert time.monotonic() - t0 < 3  # 0.6 + 0.5 + 0.5, and some slack
    finally:
        pauser.join()
        container.unpause()
    assert cluster3.remotes["n2"].run("echo back").stdout == "back\n"


def test_stdin_is_delivered_and_closed(cluster3):
    r = cluster3.remotes["n1"]
    assert r.run(["cat"], stdin=b"hello\n").stdout == "hello\n"
    data = bytes(range(256)) * 800  # larger than a pipe buffer
    assert r.run("wc -c", stdin=data).stdout.strip() == str(len(data))


def test_large_output_arrives_whole(cluster3):
    res = cluster3.remotes["n1"].run("head -c 3000000 /dev/zero | tr '\\0' a; echo e >&2")
    assert len(res.stdout) == 3_000_000 and res.stderr == "e\n"


def test_many_threads_share_one_client(cluster3):
    errors: list[Exception] = []

    def work(node: str) -> None:
        try:
            for i in range(10):
                assert cluster3.remotes[node].run(f"echo {i}").stdout == f"{i}\n"
        except Exception as e:  # noqa: BLE001 -- collected for the assert below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in cluster3.nodes * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_upload_and_download_files_and_directories(cluster3, tmp_path):
    r = cluster3.remotes["n2"]
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "kv.py").write_text("print('kv')\n")
    (src / "sub" / "run.sh").write_text("#!/bin/sh\necho ran\n")
    (src / "sub" / "run.sh").chmod(0o755)
    try:
        r.upload(src / "kv.py", "/opt/splitbrain/itest/deep/kv.py")
        assert r.run("cat /opt/splitbrain/itest/deep/kv.py").stdout == "print('kv')\n"
        r.upload(src, "/opt/splitbrain/itest/app")
        assert r.run("/opt/splitbrain/itest/app/sub/run.sh").stdout == "ran\n"
        assert r.run("stat -c %U /opt/splitbrain/itest/app/kv.py").stdout.strip() == "root"

        r.download("/opt/splitbrain/itest/deep/kv.py", tmp_path / "got" / "kv.py")
        assert (tmp_path / "got" / "kv.py").read_text() == "print('kv')\n"
        r.download("/opt/splitbrain/itest/app", tmp_path / "app")
        assert (tmp_path / "app" / "sub" / "run.sh").read_text() == "#!/bin/sh\necho ran\n"
        assert (tmp_path / "app" / "kv.py").exists()
        with pytest.raises(RemoteError, match="not found"):
            r.download("/opt/splitbrain/itest/nope", tmp_path / "nope")
        assert not (tmp_path / "nope").exists()
    finally:
        r.run("rm -rf /opt/splitbrain/itest")


def test_run_latency_is_reasonable(cluster3):
    r = cluster3.remotes["n1"]
    r.run("true")
    times = []
    for _ in range(10):
        t0 = time.monotonic()
        r.run("true")
        times.append(time.monotonic() - t0)
    assert sorted(times)[5] < 0.5, times


# --- SSHRemote -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ssh_setup(cluster3, tmp_path_factory):
    """A fresh client key authorised on every node, and a known_hosts with each node's host
    key, read over the control path (docker exec): the trust comes from Docker, not the net."""
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                            serialization.NoEncryption()).decode()
    pkey = paramiko.Ed25519Key.from_private_key(io.StringIO(pem))
    pub = f"{pkey.get_name()} {pkey.get_base64()} splitbrain-itest"
    d = tmp_path_factory.mktemp("ssh")
    (d / "id_ed25519").write_text(pem)
    (d / "id_ed25519").chmod(0o600)
    lines = []
    for node, r in cluster3.remotes.items():
        r.run("cat >> /root/.ssh/authorized_keys", stdin=(pub + "\n").encode())
        kind, b64 = r.run("cat /etc/ssh/ssh_host_ed25519_key.pub").stdout.split()[:2]
        lines.append(f"{cluster3.ips[node]} {kind} {b64}")
    (d / "known_hosts").write_text("\n".join(lines) + "\n")
    yield d, lines
    for r in cluster3.remotes.values():
        r.run("sed -i '/ splitbrain-itest$/d' /root/.ssh/authorized_keys")


def test_ssh_run_timeout_and_errors(cluster3, ssh_setup):
    d, _ = ssh_setup
    with SSHRemote(cluster3.ips["n1"], node="n1", key_filename=d / "id_ed25519",
                   known_hosts=d / "known_hosts") as s:
        assert isinstance(s, Remote)
        res = s.run("hostname; echo err >&2")
        assert (res.node, res.stdout, res.stderr, res.exit_code) == ("n1", "n1\n", "err\n", 0)
        assert s.run(["echo", "a b", "$x"]).stdout == "a b $x\n"
        assert s.run(["cat"], stdin=b"via ssh").stdout == "via ssh"
        with pytest.raises(RemoteError) as e:
            s.run("echo bad >&2; exit 5")
        assert (e.value.exit_code, e.value.stderr) == (5, "bad\n")
        t0 = time.monotonic()
        with pytest.raises(RemoteTimeout):
            s.run("sleep 30", timeout=1)
        assert time.monotonic() - t0 < 3
        assert s.run("pgrep -fx 'sleep 30'", check=False).exit_code == 1
        assert s.run("true").ok, "the connection survives a timeout"


def test_ssh_upload_download(cluster3, ssh_setup, tmp_path):
    d, _ = ssh_setup
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("A")
    (src / "sub" / "b.sh").write_text("#!/bin/sh\necho b\n")
    (src / "sub" / "b.sh").chmod(0o755)
    with SSHRemote(cluster3.ips["n2"], node="n2", key_filename=d / "id_ed25519",
                   known_hosts=d / "known_hosts") as s:
        try:
            s.upload(src / "a.txt", "/opt/splitbrain/sshtest/x/a.txt")
            s.upload(src, "/opt/splitbrain/sshtest/tree")
            assert s.run("cat /opt/splitbrain/sshtest/x/a.txt").stdout == "A"
            assert s.run("/opt/splitbrain/sshtest/tree/sub/b.sh").stdout == "b\n"
            s.download("/opt/splitbrain/sshtest/x/a.txt", tmp_path / "a.txt")
            s.download("/opt/splitbrain/sshtest/tree", tmp_path / "tree")
            assert (tmp_path / "a.txt").read_text() == "A"
            assert (tmp_path / "tree" / "sub" / "b.sh").read_text() == "#!/bin/sh\necho b\n"
            with pytest.raises(RemoteError, match="no such file"):
                s.download("/opt/splitbrain/sshtest/nope", tmp_path / "nope")
        finally:
            s.run("rm -rf /opt/splitbrain/sshtest")


def test_ssh_rejects_unknown_and_wrong_host_keys(cluster3, ssh_setup, tmp_path):
    d, lines = ssh_setup
    ip1, ip2 = cluster3.ips["n1"], cluster3.ips["n2"]
    empty = tmp_path / "empty"
    empty.write_text("")
    with pytest.raises(RemoteError, match="is not in"):
        SSHRemote(ip1, node="n1", key_filename=d / "id_ed25519", known_hosts=empty).run("true")
    # n2's key listed for n1's address: someone else answers there
    wrong = tmp_path / "wrong"
    wrong.write_text(next(ln for ln in lines if ln.startswith(ip2 + " ")).replace(ip2, ip1, 1)
                     + "\n")
    with pytest.raises(RemoteError, match="host key mismatch"):
        SSHRemote(ip1, node="n1", key_filename=d / "id_ed25519", known_hosts=wrong).run("true")
    assert empty.read_text() == "", "known_hosts is never written"
    # the explicit opt-out connects anyway
    s = SSHRemote(ip1, node="n1", key_filename=d / "id_ed25519", known_hosts=empty,
                  verify_host_key=False)
    try:
        assert s.run("hostname").stdout == "n1\n"
    finally:
        s.close()


def test_ssh_refuses_a_key_that_is_not_authorised(cluster3, ssh_setup, tmp_path):
    d, _ = ssh_setup
    other = paramiko.Ed25519Key.from_private_key(io.StringIO(
        ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption()).decode()))
    with pytest.raises(RemoteError, match="ssh to root@"):
        SSHRemote(cluster3.ips["n3"], node="n3", pkey=other,
                  known_hosts=d / "known_hosts").run("true")
