# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""What a module of the package imports, read from its source (no import)."""

import ast
import importlib.util
import os.path as osp
import sys
import sysconfig
from typing import Iterator, Tuple

from .synthetic import ROOT


def module_imports(path: str) -> Iterator[Tuple[str, int]]:
    """``(absolute module, line)`` of every import in the file under ROOT,
    those inside functions included."""
    module = osp.relpath(path, ROOT)[: -len('.py')].replace(osp.sep, '.')
    package = module.rsplit('.', 1)[0] if not module.endswith('__init__') else module[:-9]
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.Import):
            yield from ((a.name, node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')[: len(package.split('.')) - node.level + 1]
                yield '.'.join(base + ([node.module] if node.module else [])), node.lineno
            else:
                yield node.module, node.lineno


def is_stdlib(top: str) -> bool:
    """Whether a top-level module is Python's own (sys.stdlib_module_names is 3.10+)."""
    if top in sys.builtin_module_names:
        return True
    spec = importlib.util.find_spec(top)
    origin = (spec.origin or '') if spec else ''
    if origin == 'frozen':  # os, codecs, ... (3.11+)
        return True
    return origin.startswith(sysconfig.get_paths()['stdlib']) and 'site-packages' not in origin
