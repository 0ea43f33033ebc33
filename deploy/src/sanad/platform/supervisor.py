"""Keeps one platform process running, as systemd (``Restart=always``) or Kubernetes would.

``python -m sanad.platform.supervisor --state FILE -- ARGV...`` runs ARGV and, whenever it
exits without being asked to, runs it again after an exponential backoff (1 s, 2 s, 4 s …
up to 30 s; back to 1 s once a run has lasted 30 s). The state file (JSON, replaced
atomically) says what ``./sanad status`` shows: the child's pid, how many restarts, how
the last run ended and when.

Why not supervisord: it restarts a crashed process at once and backs off (linearly) only
while a start fails, counts no restarts, and would be one more daemon with its own
configuration and control socket beside the pid files ``./sanad up``/``down`` already keep.
This is one small process per supervised program, and nothing else.

- The child runs in its own process group, with ``PR_SET_PDEATHSIG``: if the supervisor is
  killed, even with SIGKILL, the kernel kills the child too, so nothing is left holding
  the port and ``./sanad up`` starts both again.
- When the child ends, whatever it started and left behind in its process group (uvicorn's
  worker processes, whose master was killed) is ended too before the next start — SIGTERM,
  then SIGKILL after ``LEFTOVER_GRACE`` — as systemd ends a unit's whole control group and
  Kubernetes a whole container. Orphaned workers would otherwise keep the port (the new run
  fails to bind, again and again) and keep consuming as a second, unsupervised instance.
- SIGTERM/SIGINT to the supervisor (``./sanad down``) is passed to the child once; the
  supervisor waits for it to end, restarts nothing and exits.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FIRST_DELAY = 1.0
MAX_DELAY = 30.0
STABLE_AFTER = 30.0  # a run this long resets the backoff
LEFTOVER_GRACE = 10.0  # for the child's leftovers to stop on SIGTERM (uvicorn's own bound)
_PR_SET_PDEATHSIG = 1


@dataclass
class State:
    supervisor_pid: int
    child_pid: int | None = None
    restarts: int = 0
    last_exit: str | None = None  # "exit 1", "killed by SIGKILL"
    last_exit_at: str | None = None
    started_at: str | None = None  # of the current run
    next_start_at: str | None = None  # while backing off
    history: list[str] = field(default_factory=list)  # the last few exits, newest last

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self)))
        tmp.replace(path)


def read_state(path: Path) -> dict[str, Any] | None:
    try:
        loaded: dict[str, Any] = json.loads(path.read_text())
        return loaded
    except (OSError, ValueError):
        return None


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit {returncode}"


def backoff(consecutive: int) -> float:
    """Seconds before restart number ``consecutive`` (1-based) of a run of quick failures."""
    return float(min(MAX_DELAY, FIRST_DELAY * 2.0 ** max(0, consecutive - 1)))


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    os.setpgid(0, 0)


def _wait_exit(child: subprocess.Popen[bytes]) -> int:
    """Wait until the child exits, end what is left of its process group, then reap it.
    Waiting with ``WNOWAIT`` keeps the exited child a zombie meanwhile, so its pid — the
    group's id — cannot be given to another process before the group is signalled."""
    with contextlib.suppress(ChildProcessError):
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
    end_group(child.pid)
    return child.wait()


def end_group(pgid: int, grace: float = LEFTOVER_GRACE) -> None:
    """SIGTERM every live process left in group ``pgid``, then SIGKILL those still there
    after ``grace`` seconds."""
    if not group_members(pgid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while group_members(pgid):
        if time.monotonic() >= deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            return
        time.sleep(0.1)


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of group ``pgid``, read from /proc."""
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        state, _ppid, pgrp, *_ = stat.rpartition(")")[2].split()
        if int(pgrp) == pgid and state != "Z":
            members.append(int(entry.name))
    return members


def _now(at: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(at))


def supervise(argv: list[str], state_path: Path, name: str) -> int:
    state = State(supervisor_pid=os.getpid())
    stopping: list[int] = []
    child: subprocess.Popen[bytes] | None = None

    def on_signal(signum: int, _frame: object) -> None:
        if not stopping:
            stopping.append(signum)
            if child is not None and child.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    child.send_signal(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    consecutive = 0
    while not stopping:
        started = time.monotonic()
        child = subprocess.Popen(argv, preexec_fn=_die_with_parent)
        state.child_pid, state.started_at, state.next_start_at = child.pid, _now(), None
        state.save(state_path)
        returncode = _wait_exit(child)
        if stopping:
            break
        ran = time.monotonic() - started
        consecutive = 1 if ran >= STABLE_AFTER else consecutive + 1
        delay = backoff(consecutive)
        state.restarts += 1
        state.child_pid, state.last_exit, state.last_exit_at = (
            None,
            describe_exit(returncode),
            _now(),
        )
        state.history = [*state.history[-4:], f"{state.last_exit_at} {state.last_exit}"]
        state.next_start_at = time.strftime(
            "%Y-%m-%dT%H:%M:%S", time.localtime(time.time() + delay)
        )
        state.save(state_path)
        print(
            f"\n--- {_now()} {name} {state.last_exit} after {ran:.1f}s; "
            f"restarting in {delay:.0f}s (restart {state.restarts})",
            flush=True,
        )
        deadline = time.monotonic() + delay
        while not stopping and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.1))
        if not stopping:
            print(f"\n--- {_now()} restarting {name}", flush=True)
    if child is not None and child.poll() is None:
        _wait_exit(child)
    state.child_pid = None
    state.save(state_path)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sanad.platform.supervisor")
    parser.add_argument("--state", type=Path, required=True, help="where to write the state")
    parser.add_argument("--name", required=True, help="the program's name, for the log")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- ARGV...")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("nothing to supervise: give -- ARGV...")
    return supervise(command, args.state, args.name)


if __name__ == "__main__":
    sys.exit(main())
