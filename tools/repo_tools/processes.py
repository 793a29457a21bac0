"""Run a command with an outer deadline and end everything it started.

torchrun starts its workers in sessions of their own, so ending the
launcher's process group leaves them running (and holding its output
pipes). :func:`run_bounded` records the whole process tree, by parent pid
from ``/proc``, before it ends it. A process whose parent has already died
(a data-loader worker of a killed trainer) is no longer below the command:
the command runs in a session of its own, and its process group is ended
too."""

import os
import signal
import subprocess
from typing import Dict, List, Sequence

__all__ = ['descendants', 'kill_tree', 'run_bounded', 'Timeout']


class Timeout(Exception):
    """The command was still running at its deadline (and was ended)."""

    def __init__(self, proc: subprocess.CompletedProcess) -> None:
        super().__init__(f'still running after its deadline: {proc.args}')
        self.proc = proc


def descendants(pid: int) -> List[int]:
    """Every live process below ``pid`` (children, their children, ...)."""
    children: Dict[int, List[int]] = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as f:
                # the name (2nd field) may hold spaces: ppid is the 2nd field after ')'
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(pid: int, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to ``pid`` and every process below it."""
    for target in [pid] + descendants(pid):
        try:
            os.kill(target, sig)
        except ProcessLookupError:
            pass


def run_bounded(cmd: Sequence[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """``subprocess.run(cmd, capture_output=True, text=True, ...)`` that, at
    ``timeout`` seconds, ends the command and all it started and raises
    :class:`Timeout` (its ``proc`` holds what was printed)."""
    kwargs.setdefault('start_new_session', True)
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_tree(proc.pid)
        if kwargs['start_new_session']:
            try:  # orphans that hold the output pipes
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        out, err = proc.communicate()
        raise Timeout(subprocess.CompletedProcess(cmd, proc.returncode, out, err)) from None
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)
