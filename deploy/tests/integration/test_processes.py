"""The platform stops only what it started: pid files are checked against the process."""

from __future__ import annotations

import os
import re
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from sanad.platform import procs

T = TypeVar("T")


def wait_for(probe: Callable[[], T], until: Callable[[T], bool], timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if until(value):
            return value
        assert time.monotonic() < deadline, f"not reached in {timeout}s: {value!r}"
        time.sleep(0.05)


@pytest.fixture
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(procs, "RUN", tmp_path / "run")
    monkeypatch.setattr(procs, "LOGS", tmp_path / "logs")
    return tmp_path


def test_a_spawned_process_is_tracked_logged_and_stopped(run_dir: Path) -> None:
    marker = "sanad-proc-test-sleeper"
    code = f"import time, sys; print('{marker} up', flush=True); time.sleep(60)"
    pid = procs.spawn("sleeper", [sys.executable, "-c", code], marker=marker)
    assert procs.running_pid("sleeper") == pid
    assert procs.stop("sleeper", timeout=5) is True
    assert procs.running_pid("sleeper") is None
    assert not procs.is_alive("sleeper")
    assert "starting sleeper" in procs.log_path("sleeper").read_text()


def test_a_stale_pid_file_never_stops_someone_elses_process(run_dir: Path) -> None:
    procs.RUN.mkdir(parents=True)
    # The pid now belongs to this test process, whose command line lacks the marker.
    procs.pid_path("kafka").write_text(f"{os.getpid()}\nkafka.Kafka\n")
    assert procs.running_pid("kafka") is None
    assert procs.stop("kafka") is False
    assert not procs.pid_path("kafka").exists()  # the stale file is cleared


def test_a_pid_file_of_a_finished_process_counts_as_stopped(run_dir: Path) -> None:
    procs.RUN.mkdir(parents=True)
    procs.pid_path("redis").write_text("999999999\nredis-server\n")
    assert procs.running_pid("redis") is None
    assert procs.stop("redis") is False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def test_a_killed_program_is_restarted_by_its_supervisor_and_stopped_with_it(
    run_dir: Path,
) -> None:
    marker = "sanad-proc-test-crasher"
    code = f"import time; print('{marker} up', flush=True); time.sleep(60)"
    procs.spawn("crasher", [sys.executable, "-c", code], marker=marker)
    first = wait_for(lambda: procs.program_pid("crasher"), lambda pid: pid is not None)
    assert first is not None and first != procs.running_pid("crasher")  # not the supervisor

    os.kill(first, signal.SIGKILL)
    state = wait_for(
        lambda: procs.supervision("crasher") or {},
        lambda s: s.get("restarts") == 1 and s.get("child_pid") not in (None, first),
    )
    assert state["last_exit"] == "killed by SIGKILL"
    assert not procs.is_alive("crasher")  # "died since it was started": up reports it
    second = state["child_pid"]
    log = procs.log_path("crasher").read_text()
    assert "crasher killed by SIGKILL" in log and "restarting crasher" in log

    assert procs.stop("crasher", timeout=10) is True  # ./sanad down: no restart after it
    wait_for(lambda: _alive(second), lambda alive: not alive)
    assert procs.running_pid("crasher") is None and procs.supervision("crasher") is None


def test_a_supervisor_killed_takes_its_program_with_it(run_dir: Path) -> None:
    marker = "sanad-proc-test-orphan"
    code = f"import time; print('{marker}', flush=True); time.sleep(60)"
    supervisor = procs.spawn("orphan", [sys.executable, "-c", code], marker=marker)
    program = wait_for(lambda: procs.program_pid("orphan"), lambda pid: pid is not None)
    assert program is not None
    os.kill(supervisor, signal.SIGKILL)
    # Nothing is left holding the program's port: ./sanad up starts both again.
    wait_for(lambda: _alive(program), lambda alive: not alive)
    assert procs.running_pid("orphan") is None


# A server in the shape of uvicorn with workers: the program binds the port and starts a
# worker process that shares the listening socket; each run says which port it holds. Both
# then wait for a signal (no timer): only the kill or the supervisor's cleanup ends them.
_SERVER_WITH_A_WORKER = """
import signal, socket, subprocess, sys
port = int(sys.argv[1])
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen()
worker = subprocess.Popen(
    [sys.executable, "-c", "import signal; signal.pause()"], pass_fds=[listener.fileno()]
)
print(f"serving {port} worker {worker.pid}", flush=True)
signal.pause()
"""


def test_a_killed_program_s_workers_are_ended_so_its_restart_gets_the_port(
    run_dir: Path,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    marker = "sanad-proc-test-server"
    procs.spawn(
        "server", [sys.executable, "-c", _SERVER_WITH_A_WORKER, str(port), marker], marker=marker
    )
    log = procs.log_path("server")
    workers = wait_for(lambda: re.findall(r"worker (\d+)", log.read_text()), lambda w: len(w) == 1)
    first = procs.program_pid("server")
    assert first is not None

    os.kill(first, signal.SIGKILL)  # the master only, as the fault tests do

    # Its worker, left holding the port, is ended; the restarted program binds it and
    # starts its own worker.
    wait_for(lambda: _alive(int(workers[0])), lambda alive: not alive)
    again = wait_for(
        lambda: re.findall(r"serving (\d+) worker (\d+)", log.read_text()), lambda s: len(s) == 2
    )
    assert again[1][0] == str(port)
    state = procs.supervision("server")
    assert state is not None and state["restarts"] == 1, state
    assert state["last_exit"] == "killed by SIGKILL"
    assert procs.stop("server", timeout=10) is True
    wait_for(lambda: _alive(int(again[1][1])), lambda alive: not alive)
