"""FakeRemote (shipped for plugin authors) and the command helpers every remote shares."""
from __future__ import annotations

import re
import threading

import pytest

from harness.api import Remote, Result
from harness.control.fake import TIMEOUT, Call, FakeRemote
from harness.control.remote import command_text, is_timeout, timeout_argv
from harness.errors import RemoteError, RemoteTimeout


def test_is_a_remote_and_records_every_call():
    r = FakeRemote("n2")
    assert isinstance(r, Remote)
    res = r.run("iptables -S", timeout=5)
    r.run(["echo", "a b"], check=False, stdin=b"in")
    assert res == Result("n2", "iptables -S", 0, "", "")
    assert r.commands == ["iptables -S", "echo 'a b'"]
    assert r.calls[1] == Call("echo 'a b'", 30.0, False, b"in")
    assert r.ran("iptables") and r.ran(re.compile(r"^echo")) and not r.ran("tc qdisc")


def test_list_answers_in_order_then_default():
    r = FakeRemote("n1", ["first\n", 3, (0, "out", "err")], default="later")
    assert r.run("a").stdout == "first\n"
    with pytest.raises(RemoteError) as e:
        r.run("b")
    assert (e.value.node, e.value.command, e.value.exit_code) == ("n1", "b", 3)
    third = r.run("c")
    assert (third.stdout, third.stderr) == ("out", "err")
    assert r.run("d").stdout == "later"


def test_dict_exact_keys_win_over_patterns():
    r = FakeRemote("n1", {
        "cat /etc/hostname": "n1\n",
        re.compile(r"^cat "): (1, "", "No such file"),
        re.compile(r"kv"): 0,
    })
    assert r.run("cat /etc/hostname").stdout == "n1\n"
    res = r.run("cat /nope", check=False)
    assert (res.exit_code, res.stderr, res.ok) == (1, "No such file", False)
    assert r.run("pkill kv").ok
    assert r.run("unscripted").ok  # default: exit 0, no output


def test_callable_answers_and_none_means_default():
    seen = []

    def answer(cmd: str):
        seen.append(cmd)
        return "up\n" if "status" in cmd else None

    r = FakeRemote("n3", answer, default=(0, "", "warn"))
    assert r.run("kv status").stdout == "up\n"
    assert r.run("kv start").stderr == "warn"
    assert seen == ["kv status", "kv start"]


def test_timeout_and_exceptions_are_raised():
    boom = RemoteError("n1", "x", None, "", reason="could not be started: gone")
    r = FakeRemote("n1", {"sleep 60": TIMEOUT, "x": boom})
    with pytest.raises(RemoteTimeout) as e:
        r.run("sleep 60", timeout=2)
    assert e.value.timeout == 2 and e.value.node == "n1"
    with pytest.raises(RemoteError, match="could not be started"):
        r.run("x")
    assert r.commands == ["sleep 60", "x"], "failed calls are recorded too"


def test_a_result_answer_is_returned_as_is_and_checked():
    r = FakeRemote("n1", [Result("n1", "false", 1, "", "nope")])
    with pytest.raises(RemoteError, match="exited 1: nope"):
        r.run("false")


def test_bad_answers_and_bad_responses_are_type_errors():
    with pytest.raises(TypeError):
        FakeRemote("n1", [object()]).run("x")
    with pytest.raises(TypeError):
        FakeRemote("n1", [True]).run("x")
    with pytest.raises(TypeError):
        FakeRemote("n1", "not a script")  # type: ignore[arg-type]


def test_files_round_trip_through_upload_and_download(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "kv.py").write_text("print('kv')")
    (src / "sub" / "conf").write_text("x=1")
    r = FakeRemote("n1")
    r.upload(src / "kv.py", "/opt/splitbrain/kv.py")
    r.upload(src, "/opt/app")
    assert r.files["/opt/splitbrain/kv.py"] == b"print('kv')"
    assert r.files["/opt/app/sub/conf"] == b"x=1"
    r.files["/var/log/splitbrain/kv.log"] = b"started\n"
    r.download("/var/log/splitbrain/kv.log", tmp_path / "out" / "kv.log")
    assert (tmp_path / "out" / "kv.log").read_bytes() == b"started\n"
    r.download("/opt/app", tmp_path / "app")
    assert (tmp_path / "app" / "sub" / "conf").read_text() == "x=1"
    assert r.uploads[0] == (str(src / "kv.py"), "/opt/splitbrain/kv.py")
    assert r.downloads[0][0] == "/var/log/splitbrain/kv.log"
    with pytest.raises(RemoteError, match="no such file"):
        r.download("/nope", tmp_path / "nope")
    with pytest.raises(RemoteError, match="no such file"):
        r.upload(tmp_path / "missing", "/x")


def test_safe_to_share_between_threads():
    r = FakeRemote("n1", [str(i) for i in range(400)])

    def work():
        for _ in range(100):
            r.run("x")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(r.calls) == 400


# --- helpers shared by the real remotes ------------------------------------------------------

def test_command_text():
    assert command_text("echo $HOME") == "echo $HOME"
    assert command_text(["echo", "a b", "$x"]) == "echo 'a b' '$x'"


def test_timeout_argv_wraps_strings_in_sh_and_argv_directly():
    assert timeout_argv("sleep 9", 1.5) == ["timeout", "--kill-after=2", "1.5", "sh", "-c",
                                            "sleep 9"]
    assert timeout_argv(["cat", "/x"], 30, kill_after=1) == ["timeout", "--kill-after=1", "30",
                                                             "cat", "/x"]
    with pytest.raises(ValueError):
        timeout_argv("x", 0)
    with pytest.raises(ValueError):
        timeout_argv([], 1)


def test_is_timeout_needs_the_code_and_the_time():
    assert is_timeout(124, 1.01, 1.0) and is_timeout(137, 3.5, 1.0)
    assert not is_timeout(124, 0.01, 1.0), "a command may exit 124 by itself"
    assert not is_timeout(137, 0.01, 1.0), "or be SIGKILLed early by someone else"
    assert not is_timeout(1, 5.0, 1.0)
