"""Something a session's tests share, made once for all its pytest-xdist
workers: the first worker to ask makes it in the session's folder under a
lock, the others wait for it and use the same.

Example:
    folder, record = once(tmp_path_factory, 'train_gc', lambda folder: {...})
"""

import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import Callable, Tuple


def session_folder(tmp_path_factory) -> Path:
    """The session's temporary folder: above each worker's own under xdist."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get('PYTEST_XDIST_WORKER') else base


def once(tmp_path_factory, name: str, make: Callable[[Path], dict]) -> Tuple[Path, dict]:
    """``make(folder)`` once per session, whichever worker asks first.

    Returns the folder and what ``make`` returned (JSON, read back from
    ``NAME.json`` beside the folder, which marks it done). A ``make`` that
    raises leaves nothing done: the next worker to ask tries again.
    """
    shared = session_folder(tmp_path_factory)
    folder, record = shared / name, shared / f'{name}.json'
    with open(shared / f'{name}.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not record.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a failed try's
            folder.mkdir()
            made = make(folder)
            record.write_text(json.dumps(made))
    return folder, json.loads(record.read_text())
