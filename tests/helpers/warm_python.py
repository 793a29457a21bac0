# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Run the repository's tools in a warm interpreter: one server process
imports torch, mmengine, mmcv and mmdet once, then forks a child for each
``python tools/X.py ...`` a test asks for. The child is what a fresh
``python tools/X.py`` would be, less the 5-8 s of imports: its own argv,
environment, working folder, ``sys.path``, random state, stdio, process
group and exit status (a negative status for a signal, as subprocess gives).

Only a run whose environment is the session's as it started, in all an
import may read, goes to it (``OMP_NUM_THREADS``, say, is read when torch
loads; ``PYTEST_CURRENT_TEST``, gc_mmdet's own ``GC_MMDET_*`` and the
checkout on PYTHONPATH are not: see ``_import_time``); any other, and any
test about the interpreter itself (the wheel, the oldest stack, imports),
starts a fresh one. ``GC_MMDET_TEST_WARM=0`` turns it off.

Example:
    >>> proc = warm_run([sys.executable, 'tools/train.py', CONFIG], env, ROOT, 600)
    >>> proc.returncode, proc.stdout
"""

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

# the third-party modules the tools import (gc_mmdet itself is imported by
# each child from the checkout its sys.path names)
PRELOAD = (
    'numpy',
    'cv2',
    'torch',
    'torchvision',
    'pycocotools.coco',
    'pycocotools.cocoeval',
    'mmengine',
    'mmengine.runner',
    'mmcv',
    'mmcv.ops',
    'mmdet.apis',
    'mmdet.models',
    'mmdet.datasets',
    'mmdet.evaluation',
    'mmdet.engine',
    'mmdet.visualization',
    'scipy.stats',
    'matplotlib.pyplot',
)


def _child(request: Dict) -> None:
    """In the forked child: become ``python SCRIPT ARGS``; never returns."""
    code = 1
    try:
        os.setsid()
        for fd, (path, mode) in enumerate(
            (
                (request['stdin'], os.O_RDONLY),
                (request['stdout'], os.O_WRONLY),
                (request['stderr'], os.O_WRONLY),
            )
        ):
            opened = os.open(path, mode)
            os.dup2(opened, fd)
            os.close(opened)
        sys.stdin = open(0, closefd=False)
        sys.stdout = open(1, 'w', closefd=False)
        sys.stderr = open(2, 'w', closefd=False, errors='backslashreplace', buffering=1)
        os.chdir(request['cwd'])
        os.environ.clear()
        os.environ.update(request['env'])
        script = request['argv'][0]
        sys.argv = list(request['argv'])
        extra = [p for p in request['env'].get('PYTHONPATH', '').split(os.pathsep) if p]
        sys.path[:] = [os.path.dirname(os.path.abspath(script))] + extra + request['base_path']
        # a fresh interpreter draws new random states; a fork copies the server's
        import numpy
        import torch

        numpy.random.seed()
        torch.seed()
        import runpy

        try:
            runpy.run_path(script, run_name='__main__')
            code = 0
        except SystemExit as e:
            if e.code is None:
                code = 0
            elif isinstance(e.code, int):
                code = e.code
            else:
                print(e.code, file=sys.stderr)
                code = 1
        except BaseException:
            sys.excepthook(*sys.exc_info())
            code = 1
        atexit._run_exitfuncs()
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
        os._exit(code & 0xFF)


def serve() -> None:
    """The server: preload, then one request per line on stdin, answered
    with the child's pid, then its exit status, on stdout."""
    for name in PRELOAD:
        __import__(name)
    base_path = [
        p for p in sys.path[1:] if p not in os.environ.get('PYTHONPATH', '').split(os.pathsep)
    ]
    out = sys.stdout
    out.write(json.dumps(dict(os.environ)) + '\n')  # ready, and what the imports set
    out.flush()
    for line in sys.stdin:
        request = dict(json.loads(line), base_path=base_path)
        pid = os.fork()
        if pid == 0:
            _child(request)
        out.write(f'{pid}\n')
        out.flush()
        _, status = os.waitpid(pid, 0)
        out.write(f'{os.waitstatus_to_exitcode(status)}\n')
        out.flush()


class _Server:
    """The client's handle on one server process, started on first use."""

    def __init__(self, root: str, env: Dict[str, str]):
        self.env = dict(env)
        self.proc = subprocess.Popen(
            [sys.executable, __file__, 'serve'],
            cwd=root,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
        )
        self.pending = b''
        atexit.register(self.close)
        #: the environment once the preloaded packages are imported (cv2 sets QT_*, ...)
        self.after_import = json.loads(self._line(None))

    def _line(self, deadline: Optional[float]) -> Optional[str]:
        """The server's next line, or None at the deadline."""
        fd = self.proc.stdout.fileno()
        while b'\n' not in self.pending:
            if deadline is not None:
                ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
                if not ready:
                    return None
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError(f'the warm interpreter ended (exit status {self.proc.wait()})')
            self.pending += chunk
        line, self.pending = self.pending.split(b'\n', 1)
        return line.decode()

    def run(
        self,
        argv: List[str],
        env: Dict[str, str],
        cwd: str,
        timeout: Optional[float],
        input: Optional[str],
    ):
        deadline = None if timeout is None else time.monotonic() + timeout
        with tempfile.TemporaryDirectory(prefix='warm_python_') as tmp:
            paths = {k: os.path.join(tmp, k) for k in ('stdin', 'stdout', 'stderr')}
            for k, path in paths.items():
                with open(path, 'w') as f:
                    f.write(input if k == 'stdin' and input else '')
            request = dict(argv=argv, env=env, cwd=cwd, **paths)
            self.proc.stdin.write((json.dumps(request) + '\n').encode())
            pid = int(self._line(None))
            timed_out = False
            try:
                line = self._line(deadline)
                if line is None:  # as subprocess.run: the command is killed, then it raises
                    timed_out = True
                    _kill_group(pid)
                    line = self._line(None)
            except BaseException:  # pytest-timeout, Ctrl-C: end what was started
                _kill_group(pid)
                self.close()
                raise
            stdout, stderr = (
                open(paths[k], errors='backslashreplace').read() for k in ('stdout', 'stderr')
            )
        if timed_out:
            raise subprocess.TimeoutExpired(argv, timeout, output=stdout, stderr=stderr)
        return int(line), stdout, stderr

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


_SERVER: Optional[_Server] = None
# read by no import: pytest's name of the running test, this module's switch,
# what the tests hand their own hooks and shell scripts (the launcher's port
# and python), and gc_mmdet's own variables (each child imports gc_mmdet itself)
PER_RUN = ('PYTEST_CURRENT_TEST', 'PORT', 'PYTHON')
OWN_PREFIXES = ('GC_MMDET_', 'GC_TEST_')
# the server's environment: the session's as it started, before a test changed it
BASE_ENV = dict(os.environ)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _import_time(env: Dict[str, str]) -> Dict[str, object]:
    """The environment as the preloaded imports read it: PYTHONPATH as the
    folders it names other than the checkout (each child's own sys.path is
    built from its request, and the preloaded packages are not in it)."""
    out = {k: v for k, v in env.items() if k not in PER_RUN and not k.startswith(OWN_PREFIXES)}
    folders = out.pop('PYTHONPATH', '').split(os.pathsep)
    out['PYTHONPATH'] = [p for p in folders if p and os.path.abspath(p) != ROOT]
    return out


def differences(env: Dict[str, str], after_import: Dict[str, str]) -> List[str]:
    """The variables for which a fresh interpreter given ``env`` would not
    import the preloaded packages as the server did: each must be as the
    session started with it, or as those imports set it (importing cv2 in the
    test process, say, puts its QT_* variables into the session's environment)."""
    wanted, base, after = (_import_time(e) for e in (env, BASE_ENV, after_import))
    keys = {*wanted, *base, *after}
    return sorted(k for k in keys if wanted.get(k) not in (base.get(k), after.get(k)))


def enabled() -> bool:
    return os.environ.get('GC_MMDET_TEST_WARM', '1') != '0'


def warm_run(
    cmd: List[str],
    env: Dict[str, str],
    cwd: str,
    timeout: Optional[float],
    input: Optional[str] = None,
) -> Optional[subprocess.CompletedProcess]:
    """``subprocess.run(cmd, env=env, cwd=cwd, timeout=timeout,
    capture_output=True, text=True)`` in a fork of the warm interpreter, or
    None where it cannot be (not ``sys.executable SCRIPT.py ...``, another
    environment than the server's, or turned off)."""
    global _SERVER
    if not enabled() or len(cmd) < 2 or cmd[0] != sys.executable or not cmd[1].endswith('.py'):
        return None
    if _SERVER is not None and _SERVER.proc.poll() is not None:
        _SERVER = None
    if _SERVER is None:
        _SERVER = _Server(ROOT, BASE_ENV)
    if differences(env, _SERVER.after_import):
        return None
    code, stdout, stderr = _SERVER.run(list(cmd[1:]), env, cwd, timeout, input)
    return subprocess.CompletedProcess(cmd, code, stdout, stderr)


if __name__ == '__main__' and sys.argv[1:] == ['serve']:
    serve()
