# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""The commands README and docs/ give run as written: every `python tools/...`
or `python benchmarks/...` line names a script that exists and flags its
argparse parser accepts (values among its choices), every repository path it
names exists, and a checkpoint it names is one its config's run keeps; every
`make T` names a target (and variables) of the Makefile, and where a page says
what a target runs ("`make T` (= `...`)"), that is its recipe. A page with such
commands says first how to get the project's environment."""

import argparse
import functools
import io
import os.path as osp
import re
import shlex
from contextlib import redirect_stderr
from typing import Dict, List, Optional, Set, Tuple
from unittest import mock

import pytest

from helpers.synthetic import ROOT, load_script
from repo_tools.render_docs import doc_files

#: configs a page tells the reader to copy, by the name the page gives the copy
COPIES = {'my_config.py': 'configs/own_data/mask-rcnn_r18-half_fpn_gn-all_gc_own-coco.py'}
#: folders of the repository whose paths a command may name
REPO_DIRS = ('configs/', 'tools/', 'tests/', 'benchmarks/', 'docs/')
#: what every page with commands that need the environment says before the first
ACTIVATE = 'source .venv/bin/activate'

_FENCE = re.compile(r'^ *```[^\n]*\n(.*?)^ *```', re.S | re.M)  # novm (flags, not types)
_SPAN = re.compile(r'`([^`]+)`')
_ENV_PREFIX = re.compile(r'^(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*')
_PLACEHOLDER = re.compile(r'(?:^|/)[A-Z][A-Z0-9_]*(?:$|/|\.)')
_CHECKPOINT = re.compile(r'(?:^|/)(?:epoch|iter)_\d+\.pth$')


def _page_commands(path: str) -> List[Tuple[int, str, str]]:
    """``(offset, where, command)`` of a page's shell commands: each line of
    its fenced blocks (``\\`` continuations joined) and each inline code span,
    that runs ``python`` or ``make`` (after any ``VAR=value`` prefix)."""
    with open(path) as f:
        text = f.read()
    rel = osp.relpath(path, ROOT)
    found = []
    for m in _FENCE.finditer(text):
        offset = m.start(1)
        for line in m.group(1).replace('\\\n', ' ').splitlines(keepends=True):
            line_no = text.count('\n', 0, offset) + 1
            found.append((offset, f'{rel}:{line_no}', line.strip()))
            offset += len(line)
    prose = _FENCE.sub(lambda m: ' ' * len(m.group(0)), text)  # offsets kept
    for m in _SPAN.finditer(prose):
        line_no = text.count('\n', 0, m.start()) + 1
        found.append((m.start(), f'{rel}:{line_no}', ' '.join(m.group(1).split())))
    return sorted(c for c in found if _program(c[2]))


def _program(command: str) -> Optional[str]:
    rest = _ENV_PREFIX.sub('', command)
    if re.match(r'python \S+\.py\b', rest):
        return 'python'
    if re.match(r'make( |$)', rest):
        return 'make'
    return None


def _tokens(command: str) -> List[str]:
    return shlex.split(_ENV_PREFIX.sub('', command), comments=True)


class _Parser(Exception):
    def __init__(self, parser: argparse.ArgumentParser):
        self.parser = parser


@functools.lru_cache(maxsize=None)
def script_parser(script: str) -> argparse.ArgumentParser:
    """The argparse parser of a script of the repository: its ``parse_args``
    (or ``main``) runs until it would parse, and hands its parser over."""
    module = load_script(script)

    def grab(self, *args, **kwargs):
        raise _Parser(self)

    entry = getattr(module, 'parse_args', None) or module.main
    with mock.patch.object(argparse.ArgumentParser, 'parse_args', grab):
        try:
            entry([])
        except _Parser as got:
            return got.parser
    raise AssertionError(f'{script}: no argparse parser reached')


def _is_placeholder(token: str) -> bool:
    return bool(_PLACEHOLDER.search(token)) or '...' in token or token == 'key=value'


def _synopsis(args: List[str]) -> bool:
    """A usage line (``[--flag]``, ``a|b``, ``CONFIG``) rather than a command."""
    return any('[' in t or ']' in t or '|' in t or _is_placeholder(t) for t in args)


def _last_checkpoint_names(config: str) -> Set[str]:
    """The checkpoint files a finished run of ``config`` leaves in its work dir."""
    from mmengine.config import Config

    cfg = Config.fromfile(osp.join(ROOT, config))
    loop = cfg.train_cfg
    by_epoch = loop.get('by_epoch', 'Epoch' in loop.get('type', 'EpochBasedTrainLoop'))
    last = loop['max_epochs'] if by_epoch else loop['max_iters']
    hook = cfg.get('default_hooks', {}).get('checkpoint', {})
    interval, keep = hook.get('interval', -1), hook.get('max_keep_ckpts', -1)
    saved = [
        n
        for n in range(1, last + 1)
        if (interval > 0 and n % interval == 0) or (hook.get('save_last', True) and n == last)
    ]
    if keep > 0:
        saved = saved[-keep:]
    return {f'{"epoch" if by_epoch else "iter"}_{n}.pth' for n in saved}


def check_python_command(where: str, command: str) -> List[str]:
    """What is wrong with one ``python SCRIPT ...`` command of a page."""
    tokens = _tokens(command)
    script, args = tokens[1], tokens[2:]
    if not osp.isfile(osp.join(ROOT, script)):
        return [f'{where}: {script} does not exist ({command})']
    parser = script_parser(script)
    problems = []
    if _synopsis(args):  # each flag, and each value it lists
        bare = [t.strip('[]') for t in args]
        for i, token in enumerate(bare):
            if not token.startswith('--'):
                continue
            flag = token.split('=')[0]
            action = parser._option_string_actions.get(flag)
            if action is None:
                problems.append(f'{where}: {script} has no flag {flag} ({command})')
                continue
            value = bare[i + 1] if i + 1 < len(bare) else ''
            if action.choices and value and not value.startswith('-'):
                wrong = [v for v in value.split('|') if v not in action.choices]
                if wrong and not _is_placeholder(value):
                    problems.append(
                        f'{where}: {script} {flag} takes {sorted(action.choices)}, not {wrong}'
                    )
    else:  # the command as written
        err = io.StringIO()
        try:
            with redirect_stderr(err):
                parser.parse_args(args)
        except SystemExit:
            last = err.getvalue().strip().splitlines()[-1:]
            problems.append(f'{where}: {command}: {"".join(last)}')
    for token in (t.strip('[]').split('=')[-1] for t in args):
        if token.startswith(REPO_DIRS) and not _is_placeholder(token) and '{' not in token:
            if not osp.exists(osp.join(ROOT, token)):
                problems.append(f'{where}: {token} does not exist ({command})')
    configs = [t for t in args if t.endswith('.py') and not t.startswith('-')]
    for ckpt in (t for t in args if _CHECKPOINT.search(t) and not _is_placeholder(t)):
        config = COPIES.get(configs[0], configs[0]) if configs else None
        if config is None or not osp.isfile(osp.join(ROOT, config)):
            problems.append(f'{where}: {ckpt}: no config of the repository to check it against')
            continue
        kept = _last_checkpoint_names(config)
        if osp.basename(ckpt) not in kept:
            problems.append(
                f'{where}: {ckpt}: a run of {config} keeps {", ".join(sorted(kept))} ({command})'
            )
    return problems


@functools.lru_cache(maxsize=None)
def makefile() -> Tuple[Dict[str, List[str]], Dict[str, str]]:
    """The Makefile's targets with their recipe lines, and its variables
    with their values as written."""
    with open(osp.join(ROOT, 'Makefile')) as f:
        lines = f.read().splitlines()
    targets: Dict[str, List[str]] = {}
    variables: Dict[str, str] = {}
    current = None
    for line in lines:
        var = re.match(r'^([A-Za-z_][A-Za-z0-9_]*)\s*[:?]?=\s*(.*)$', line)
        target = re.match(r'^([\w-]+):(?!=)', line)
        if var:
            variables[var.group(1)] = var.group(2).strip()
            current = None
        elif target:
            current = target.group(1)
            targets[current] = []
        elif line.startswith('\t') and current:
            targets[current].append(line.strip())
        elif line.strip() and not line.startswith('#'):
            current = None
    return targets, variables


def _expand(recipe_line: str, variables: Dict[str, str]) -> str:
    """A recipe line as a reader would type it: ``$(PY)`` is ``python``."""
    line = recipe_line.replace('$(PY)', 'python')
    return re.sub(r'\$\((\w+)\)', lambda m: variables.get(m.group(1), m.group(0)), line)


def check_make_command(where: str, command: str) -> List[str]:
    targets, variables = makefile()
    problems = []
    for token in _tokens(command)[1:]:
        if '=' in token:
            name = token.split('=')[0]
            if name not in variables:
                problems.append(f'{where}: the Makefile has no variable {name} ({command})')
        elif not token.startswith('-') and token not in targets:
            problems.append(f'{where}: the Makefile has no target {token} ({command})')
    return problems


def _pages():
    return [pytest.param(p, id=osp.relpath(p, ROOT)) for p in doc_files(ROOT)]


@pytest.mark.parametrize('page', _pages())
def test_commands_of_the_page_run_as_written(page):
    problems = []
    for _, where, command in _page_commands(page):
        if _program(command) == 'python':
            problems += check_python_command(where, command)
        else:
            problems += check_make_command(where, command)
    assert not problems, '\n'.join(problems)


@pytest.mark.parametrize('page', _pages())
def test_what_a_page_says_make_runs_is_the_recipe(page):
    """ "`make T` (= `A`, then `B`)" in prose, "make T  # = A; ..." in a
    block: A, B, ... are the target's recipe lines, every one, in order."""
    targets, variables = makefile()
    with open(page) as f:
        text = f.read()
    said = [
        (m.group(1), re.findall(r'`([^`]+)`', m.group(2)))
        for m in re.finditer(r'`make ([\w-]+)`\s+\(=([^)]*)\)', text)
    ]
    said += [
        (m.group(1), [m.group(2)])
        for m in re.finditer(r'^\s*make ([\w-]+)\s+#\s*=\s*([^;\n]+)', text, re.M)
    ]
    problems = []
    for target, commands in said:
        recipe = [_expand(line, variables) for line in targets.get(target, [])]
        commands = [' '.join(c.split()) for c in commands]
        if commands != recipe:
            problems.append(f'make {target}: the page says {commands}; the Makefile runs {recipe}')
    assert not problems, '\n'.join(problems)


@pytest.mark.parametrize('page', _pages())
def test_a_page_says_where_python_comes_from_before_its_first_command(page):
    """`python` is the project's environment only once activated: a page that
    runs it (or tools/dist_train.sh, which runs it) says how, before."""
    with open(page) as f:
        text = f.read()
    needs_env = [
        offset for offset, _, command in _page_commands(page) if _program(command) == 'python'
    ]
    for m in re.finditer(r'tools/(?:dist_\w+|slurm_train)\.sh', text):
        needs_env.append(m.start())
    if needs_env:
        assert ACTIVATE in text[: min(needs_env)], (
            f'{osp.relpath(page, ROOT)}: runs python before saying `{ACTIVATE}`'
        )


def test_the_checks_catch_a_wrong_flag_value_path_and_checkpoint():
    wrong = check_python_command(
        'x.md:1',
        'python tools/test.py my_config.py work_dirs/my_run/epoch_12.pth --eval-backend fastest',
    )
    assert any('--eval-backend' in p and 'fastest' in p for p in wrong), wrong
    wrong = check_python_command(
        'x.md:2', 'python tools/test.py my_config.py work_dirs/my_run/epoch_12.pth'
    )
    assert wrong == [
        'x.md:2: work_dirs/my_run/epoch_12.pth: a run of '
        f'{COPIES["my_config.py"]} keeps epoch_7.pth '
        '(python tools/test.py my_config.py work_dirs/my_run/epoch_12.pth)'
    ]
    wrong = check_python_command('x.md:3', 'python tools/train.py CONFIG [--no-such-flag]')
    assert wrong == [
        'x.md:3: tools/train.py has no flag --no-such-flag '
        '(python tools/train.py CONFIG [--no-such-flag])'
    ]
    wrong = check_python_command('x.md:4', 'python tools/train.py configs/no_such.py')
    assert wrong == [
        'x.md:4: configs/no_such.py does not exist (python tools/train.py configs/no_such.py)'
    ]
    assert check_make_command('x.md:5', 'make demo-publsh') == [
        'x.md:5: the Makefile has no target demo-publsh (make demo-publsh)'
    ]
