# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""repo_tools.processes.run_bounded, what the launch tests run commands with:
at its deadline it ends everything the command started, an orphan that holds
the output pipes included (a data-loader worker whose trainer was killed), so
that a broken launch fails the test at its own deadline."""

import os
import signal
import sys
import time

import pytest

from repo_tools.processes import Timeout, run_bounded


def _alive(pid: int) -> bool:
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


@pytest.mark.timeout(60)
def test_an_orphan_holding_the_pipes_is_ended_at_the_deadline(tmp_path):
    pid_file = tmp_path / 'orphan.pid'
    # the child starts a grandchild and exits at once: the grandchild, now an
    # orphan (not below the command any more), keeps stdout open
    script = (
        'import subprocess, sys\n'
        "p = subprocess.Popen(['sleep', '1000'])\n"
        f'open({str(pid_file)!r}, "w").write(str(p.pid))\n'
    )
    try:
        with pytest.raises(Timeout):
            run_bounded([sys.executable, '-c', script], timeout=5)
        # its pipes are closed, so it is exiting: gone within moments (a
        # survivor would still be sleeping a quarter of an hour from now)
        pid, deadline = int(pid_file.read_text()), time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(pid)
    finally:
        if pid_file.exists() and _alive(int(pid_file.read_text())):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def test_a_command_that_ends_returns_its_output():
    proc = run_bounded([sys.executable, '-c', 'print("out"); raise SystemExit(3)'], timeout=60)
    assert (proc.returncode, proc.stdout) == (3, 'out\n')
