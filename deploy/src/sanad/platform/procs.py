"""Start, track and stop the platform's processes: one pid file and one log file each.

Only processes whose pid file this platform wrote are ever stopped, and a stale pid file
(the process is gone, or the pid now belongs to something else) is ignored.

Every process is started under its own supervisor (``sanad.platform.supervisor``), which
restarts it with backoff when it dies; the pid file holds the supervisor's pid, and the
supervisor's state file the program's own pid, its restarts and how it last exited.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sanad.platform.layout import LOGS, RUN


def log_path(name: str) -> Path:
    return LOGS / f"{name}.log"


def pid_path(name: str) -> Path:
    return RUN / f"{name}.pid"


def state_path(name: str) -> Path:
    return RUN / f"{name}.state.json"


def supervision(name: str) -> dict[str, Any] | None:
    """What the supervisor of ``name`` last wrote (pid, restarts, last exit), if running."""
    if running_pid(name) is None:
        return None
    try:
        state: dict[str, Any] = json.loads(state_path(name).read_text())
    except (OSError, ValueError):
        return None
    return state


def program_pid(name: str) -> int | None:
    """The pid of the supervised program itself (not its supervisor), if it is running."""
    state = supervision(name)
    pid = None if state is None else state.get("child_pid")
    return pid if isinstance(pid, int) and _alive(pid) else None


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def running_pid(name: str) -> int | None:
    """The pid of our process ``name`` if it is still alive and still ours."""
    path = pid_path(name)
    if not path.exists():
        return None
    try:
        pid_text, _, marker = path.read_text().partition("\n")
        pid = int(pid_text)
    except ValueError:
        return None
    cmdline = _cmdline(pid)
    if not cmdline or (marker.strip() and marker.strip() not in cmdline):
        return None
    return pid


def is_alive(name: str) -> bool:
    """Whether the process we recorded is still alive and has not died since it was started
    (used while it starts: a program that exits at once is reported, not restarted forever
    in silence)."""
    try:
        pid = int(pid_path(name).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    try:
        restarts = int(json.loads(state_path(name).read_text()).get("restarts", 0))
    except (OSError, ValueError):
        restarts = 0
    return _alive(pid) and restarts == 0


def spawn(
    name: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    marker: str | None = None,
) -> int:
    """Start ``argv`` detached (own session) under a supervisor that restarts it, output
    appended to its log, the supervisor's pid recorded (its command line holds ``argv``, so
    the marker check still applies)."""
    LOGS.mkdir(parents=True, exist_ok=True)
    RUN.mkdir(parents=True, exist_ok=True)
    state_path(name).unlink(missing_ok=True)
    argv = [
        sys.executable,
        "-m",
        "sanad.platform.supervisor",
        "--name",
        name,
        "--state",
        str(state_path(name)),
        "--",
        *argv,
    ]
    with log_path(name).open("ab") as log:
        log.write(f"\n--- {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {name}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,
        )
    pid_path(name).write_text(f"{proc.pid}\n{marker or ''}\n")
    # Popen can return while the child is still exec-ing (its cmdline reads empty), and the
    # pid file is only believed once the cmdline shows the marker: wait for that, briefly.
    deadline = time.monotonic() + 2.0
    while not _cmdline(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return proc.pid


def stop(name: str, timeout: float = 15.0) -> bool:
    """SIGTERM the process group, then SIGKILL after ``timeout``. True if it was running."""
    pid = running_pid(name)
    pid_path(name).unlink(missing_ok=True)
    state_path(name).unlink(missing_ok=True)
    if pid is None:
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped) counts as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (OSError, IndexError):
        return False


def tail(name: str, lines: int = 15) -> str:
    path = log_path(name)
    if not path.exists():
        return "(no log yet)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
