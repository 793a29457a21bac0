# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""The warm interpreter the end-to-end tests run the tools in
(helpers.warm_python) is, to the script, the fresh ``python SCRIPT`` it
replaces: the same argv, folder, environment, sys.path, exit status,
output and random draws, and a run past its timeout is ended with all it
started."""

import os
import subprocess
import sys
import textwrap
import time

import pytest

from helpers import warm_python
from helpers.synthetic import ROOT, run

pytestmark = pytest.mark.slow  # each comparison starts a fresh interpreter too

PROBE = textwrap.dedent("""
    import atexit, json, os, random, sys
    import numpy, torch
    atexit.register(lambda: print('atexit ran'))
    print(json.dumps(dict(
        argv=sys.argv, cwd=os.getcwd(), main=__name__,
        path=[p for p in sys.path if 'site-packages' not in p and 'lib/python' not in p],
        env={k: v for k, v in os.environ.items() if k != '_'},
        draws=[random.random(), float(numpy.random.rand()), float(torch.rand(1))],
        modules=sorted(m for m in ('gc_mmdet', 'helpers') if m in sys.modules),
    )))
    print('to stderr', file=sys.stderr)
    if sys.argv[1:] == ['fail']:
        raise ValueError('the probe failed')
    if sys.argv[1:] == ['exit']:
        sys.exit(3)
    if sys.argv[1:] == ['message']:
        sys.exit('a message')
""")


@pytest.fixture
def probe(tmp_path):
    path = tmp_path / 'probe.py'
    path.write_text(PROBE)
    return str(path)


def _both(cmd):
    warm = run(cmd)
    os.environ['GC_MMDET_TEST_WARM'] = '0'
    try:
        fresh = run(cmd)
    finally:
        del os.environ['GC_MMDET_TEST_WARM']
    return warm, fresh


def _record(proc):
    import json

    return json.loads(proc.stdout.splitlines()[0])


@pytest.mark.parametrize(
    'args, code, stderr_end',
    [
        ([], 0, 'to stderr\n'),
        (['exit'], 3, 'to stderr\n'),
        (['message'], 1, 'to stderr\na message\n'),
        (['fail'], 1, 'ValueError: the probe failed\n'),
    ],
)
def test_a_script_sees_what_a_fresh_interpreter_gives_it(probe, args, code, stderr_end):
    warm, fresh = _both([sys.executable, probe, *args])
    assert warm.returncode == fresh.returncode == code
    assert warm.stderr.endswith(stderr_end) and fresh.stderr.endswith(stderr_end)
    assert warm.stdout.splitlines()[1:] == fresh.stdout.splitlines()[1:] == ['atexit ran']
    w, f = _record(warm), _record(fresh)
    assert f['env'].pop('GC_MMDET_TEST_WARM') == '0'  # how the fresh one was asked for
    assert w.pop('draws') != f.pop('draws')
    assert w == f
    assert w['cwd'] == ROOT and w['main'] == '__main__' and w['modules'] == []


def test_each_run_draws_its_own_random_numbers(probe):
    first, second = run([sys.executable, probe]), run([sys.executable, probe])
    draws = [_record(p)['draws'] for p in (first, second)]
    assert all(a != b for a, b in zip(*draws))


def test_a_run_past_its_timeout_is_ended_with_what_it_started(tmp_path):
    script = tmp_path / 'sleeper.py'
    pid_file = tmp_path / 'pid'
    script.write_text(
        textwrap.dedent(f"""
        import subprocess, sys
        child = subprocess.Popen(['sleep', '300'])
        open({str(pid_file)!r}, 'w').write(str(child.pid))
        print('started', flush=True)
        child.wait()
    """)
    )
    start = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired) as e:
        run([sys.executable, str(script)], timeout=5)
    assert time.monotonic() - start < 60 and e.value.output == 'started\n'
    pid = int(pid_file.read_text())
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f'the sleep {pid} the timed-out run started is still running')
    # the server serves the next run
    script.write_text('print(1)\n')
    assert run([sys.executable, str(script)]).stdout == '1\n'


def test_a_run_ended_by_a_signal_reports_it_as_subprocess_does(tmp_path):
    script = tmp_path / 'killed.py'
    script.write_text('import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n')
    warm, fresh = _both([sys.executable, str(script)])
    assert warm.returncode == fresh.returncode == -9


def test_only_the_sessions_own_environment_runs_warm(probe, monkeypatch):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    for warm in (
        env,
        dict(
            env,
            # the checkout, then the session's own PYTHONPATH (a user's, a plugin's)
            PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get('PYTHONPATH')])),
            GC_MMDET_CACHE_DIR='/tmp/x',
            GC_TEST_NOTICE='3:SIGTERM:self',
        ),
    ):
        proc = warm_python.warm_run([sys.executable, probe], warm, ROOT, 60)
        assert proc is not None, warm_python.differences(warm, warm_python._SERVER.after_import)
        assert _record(proc)['env'] == {k: v for k, v in warm.items() if k != '_'}
    # what importing cv2 sets (in the test process too, when a test imports it)
    qt = 'QT_QPA_PLATFORM_PLUGIN_PATH'
    set_by_cv2 = dict(env, **{qt: warm_python._SERVER.after_import[qt]})
    assert warm_python.warm_run([sys.executable, probe], set_by_cv2, ROOT, 60) is not None
    # read when torch or the preloaded packages load: a fresh interpreter
    # (another thread count than the session's: pytest-xdist's workers set one)
    threads = str(int(os.environ.get('OMP_NUM_THREADS', '1')) + 1)
    for fresh in (dict(env, OMP_NUM_THREADS=threads), dict(env, PYTHONPATH=ROOT + ':/elsewhere')):
        assert warm_python.warm_run([sys.executable, probe], fresh, ROOT, 60) is None
    assert warm_python.warm_run(['bash', '-c', 'true'], env, ROOT, 60) is None
    # a test that changed the session's environment gets a fresh one too
    monkeypatch.setenv('OMP_NUM_THREADS', threads)
    assert warm_python.warm_run([sys.executable, probe], dict(os.environ), ROOT, 60) is None
