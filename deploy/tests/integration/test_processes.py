"""The platform stops only what it started: pid files are checked against the process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from sanad.platform import procs


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
