# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Nothing a user has is ever deleted or overwritten: the synthetic generator
(API, command line, configs) writes only into a new or empty folder or one
that carries its marker, and replaces only the files its marker lists."""

import json
import os
import os.path as osp
import subprocess
import sys
import textwrap

import pytest

from gc_mmdet.datasets import (
    MARKER_FILE,
    SyntheticFolderError,
    ensure_synthetic_coco,
    generate_synthetic_coco,
    read_synthetic_marker,
)
from gc_mmdet.datasets.synthetic import cache
from helpers.folders import hash_tree
from helpers.own_coco import make_own_coco
from helpers.synthetic import GC_CONFIG, ROOT, run, tool_cmd

TINY = dict(num_train=3, num_val=2, size=64, seed=0)


@pytest.fixture
def user_coco(tmp_path):
    """A user's own COCO data set, as in the reproduction of the issue."""
    root = str(tmp_path / 'my_fruit')
    make_own_coco(root)
    with open(osp.join(root, 'README.txt'), 'w') as f:
        f.write('my labels, three weeks of work\n')
    return root


@pytest.mark.parametrize('fn', [generate_synthetic_coco, ensure_synthetic_coco])
def test_api_refuses_a_folder_it_did_not_make(user_coco, fn):
    before = hash_tree(user_coco)
    with pytest.raises(SyntheticFolderError) as err:
        fn(user_coco, **TINY)
    msg = str(err.value)
    assert osp.abspath(user_coco) in msg and 'did not make' in msg
    assert 'synthetic=' in msg and 'nothing was changed' in msg
    assert hash_tree(user_coco) == before


def test_api_refuses_a_file_and_a_partly_filled_folder(tmp_path):
    path = tmp_path / 'a_file'
    path.write_text('x')
    with pytest.raises(SyntheticFolderError, match='not a folder'):
        generate_synthetic_coco(str(path), **TINY)
    assert path.read_text() == 'x'
    # one unrelated file is enough: no marker, not empty
    other = tmp_path / 'other'
    other.mkdir()
    (other / 'notes.txt').write_text('mine')
    with pytest.raises(SyntheticFolderError, match='notes.txt'):
        ensure_synthetic_coco(str(other), **TINY)
    assert os.listdir(other) == ['notes.txt']


@pytest.mark.slow  # starts a process: seconds
def test_cli_refuses_a_folder_it_did_not_make(user_coco):
    before = hash_tree(user_coco)
    proc = subprocess.run(
        [
            sys.executable,
            osp.join(ROOT, 'tools', 'make_synthetic_coco.py'),
            '--out',
            user_coco,
            '--train',
            '2',
            '--val',
            '1',
            '--size',
            '64',
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: synthetic data: ')
    assert 'did not make' in lines[0] and 'Traceback' not in proc.stderr
    assert hash_tree(user_coco) == before


def test_regeneration_removes_exactly_its_own_files(tmp_path):
    root = str(tmp_path / 'ds')
    generate_synthetic_coco(root, **dict(TINY, num_train=4))
    marker = read_synthetic_marker(root)
    assert marker['complete'] and sorted(marker['files']) == marker['files']
    assert set(marker['files']) == {
        'annotations/instances_train.json',
        'annotations/instances_val.json',
        *(f'train/{i:06d}.png' for i in range(4)),
        *(f'val/{i:06d}.png' for i in range(2)),
    }
    # a user adds files beside the generated ones
    for rel, text in (
        ('notes.txt', 'a'),
        ('train/mine.jpg', 'b'),
        ('annotations/extra.json', '{}'),
    ):
        with open(osp.join(root, rel), 'w') as f:
            f.write(text)
    theirs = {
        k: v
        for k, v in hash_tree(root).items()
        if k in ('notes.txt', 'train/mine.jpg', 'annotations/extra.json')
    }
    ensure_synthetic_coco(root, **dict(TINY, num_train=2, num_val=0))
    after = hash_tree(root)
    assert {k: after.get(k) for k in theirs} == theirs  # theirs: unchanged
    assert sorted(os.listdir(osp.join(root, 'train'))) == ['000000.png', '000001.png', 'mine.jpg']
    assert not osp.exists(osp.join(root, 'val'))  # emptied, so removed
    assert read_synthetic_marker(root)['files'] == [
        'annotations/instances_train.json',
        'annotations/instances_val.json',
        'train/000000.png',
        'train/000001.png',
    ]


def test_a_user_file_where_a_new_one_would_go_stops_generation(tmp_path):
    root = str(tmp_path / 'ds')
    generate_synthetic_coco(root, **TINY)
    with open(osp.join(root, 'train', '000004.png'), 'w') as f:
        f.write('a photo of mine')
    before = hash_tree(root)
    with pytest.raises(SyntheticFolderError, match='train/000004.png'):
        ensure_synthetic_coco(root, **dict(TINY, num_train=6))
    assert hash_tree(root) == before


def test_interrupted_generation_is_finished_by_the_next_run(tmp_path, monkeypatch):
    root, fresh = str(tmp_path / 'ds'), str(tmp_path / 'fresh')
    generate_synthetic_coco(root, **TINY)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt('killed while swapping files')

    # killed after old files were removed and new ones moved in, before the
    # marker was completed
    monkeypatch.setattr(cache, '_remove_empty_parents', crash)
    with pytest.raises(KeyboardInterrupt):
        ensure_synthetic_coco(root, **dict(TINY, seed=1, num_train=5))
    monkeypatch.undo()
    marker = read_synthetic_marker(root)
    assert marker is not None and not marker['complete']
    summary = ensure_synthetic_coco(root, **dict(TINY, seed=1, num_train=5))
    assert summary['generated']
    generate_synthetic_coco(fresh, **dict(TINY, seed=1, num_train=5))
    assert hash_tree(root) == hash_tree(fresh)


def test_marker_without_its_file_list_is_not_ours(tmp_path):
    """A marker that lists no files does not say which files are the
    generator's: the folder is refused, nothing in it changed."""
    root = str(tmp_path / 'ds')
    generate_synthetic_coco(root, **TINY)
    marker = read_synthetic_marker(root)
    with open(osp.join(root, MARKER_FILE), 'w') as f:
        json.dump({k: v for k, v in marker.items() if k != 'files'}, f)
    before = hash_tree(root)
    with pytest.raises(SyntheticFolderError, match='did not make'):
        ensure_synthetic_coco(root, **dict(TINY, num_train=1))
    assert hash_tree(root) == before


_WORKER = textwrap.dedent("""
    import sys
    from gc_mmdet.datasets.synthetic import ensure_synthetic_coco
    print(ensure_synthetic_coco(sys.argv[1], num_train=24, num_val=8, size=96, seed=3)['generated'])
""")


@pytest.mark.slow  # starts a process: seconds
def test_two_processes_generating_at_once_do_not_corrupt_it(tmp_path):
    root, fresh = str(tmp_path / 'shared'), str(tmp_path / 'fresh')
    env = dict(os.environ, PYTHONPATH=ROOT)
    procs = [
        subprocess.Popen(
            [sys.executable, '-c', _WORKER, root],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    # one generated, the other waited for it and reused its set
    assert sorted(o.strip() for o, _ in outs) == ['False', 'True']
    generate_synthetic_coco(fresh, num_train=24, num_val=8, size=96, seed=3)
    tree = hash_tree(root)
    assert not any(k.startswith('.gc_mmdet-staging') for k in tree)
    assert {k: v for k, v in tree.items() if not k.startswith('.gc_mmdet-')} == {
        k: v for k, v in hash_tree(fresh).items() if not k.startswith('.gc_mmdet-')
    }


def _user_config(tmp_path, data_root, dataset_type):
    """The issue's reproduction: the demo config pointed at one's own data
    with only data_root, classes and the dataset type changed."""
    cfg = tmp_path / f'mine_{dataset_type}.py'
    cfg.write_text(
        textwrap.dedent(f"""
        _base_ = {osp.join(ROOT, GC_CONFIG)!r}
        data_root = {data_root.rstrip('/') + '/'!r}
        metainfo = dict(classes=('apple', 'pear', 'plum'))
        train_dataloader = dict(dataset=dict(type={dataset_type!r}, data_root=data_root, metainfo=metainfo))
        val_dataloader = dict(dataset=dict(type={dataset_type!r}, data_root=data_root, metainfo=metainfo))
        test_dataloader = val_dataloader
        val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
    """)
    )
    return str(cfg)


@pytest.mark.slow  # starts a process: seconds
@pytest.mark.parametrize(
    'dataset_type,expected',
    [
        ('CocoDataset', "understood by type='SyntheticCocoDataset' only"),
        ('SyntheticCocoDataset', 'did not make'),
    ],
)
def test_the_reproduction_stops_with_an_error_and_loses_nothing(
    tmp_path, user_coco, dataset_type, expected
):
    before = hash_tree(user_coco)
    work_dir = str(tmp_path / 'work')
    proc = run(
        tool_cmd(
            'train.py', _user_config(tmp_path, user_coco, dataset_type), '--work-dir', work_dir
        ),
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
    assert len(errors) == 1 and expected in errors[0], proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr
    assert hash_tree(user_coco) == before


@pytest.mark.slow  # starts a process: seconds
@pytest.mark.parametrize('tool', ['train.py', 'test.py'])
def test_tools_refuse_a_work_dir_of_user_files(tmp_path, user_coco, tool):
    before = hash_tree(user_coco)
    ckpt = tmp_path / 'model.pth'
    ckpt.write_bytes(b'')  # test.py checks that it exists first
    args = [GC_CONFIG, str(ckpt)] if tool == 'test.py' else [GC_CONFIG]
    proc = run(tool_cmd(tool, *args, '--work-dir', user_coco), timeout=300)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert proc.stderr.startswith(f'error: --work-dir {user_coco}: holds files')
    assert hash_tree(user_coco) == before


@pytest.mark.slow  # starts a process: seconds
def test_train_refuses_to_dump_over_its_own_config(tmp_path):
    exp = tmp_path / 'exp'
    exp.mkdir()
    cfg = exp / 'my_gc.py'
    cfg.write_text(f'_base_ = {osp.join(ROOT, GC_CONFIG)!r}\n# my notes\n')
    before = hash_tree(str(exp))
    proc = run(tool_cmd('train.py', str(cfg), '--work-dir', str(exp)), timeout=300)
    assert proc.returncode == 2 and 'would overwrite the config' in proc.stderr
    assert hash_tree(str(exp)) == before


@pytest.mark.slow  # starts a process: seconds
def test_compare_tools_refuse_to_overwrite_user_files(tmp_path):
    out = tmp_path / 'figures'
    out.mkdir()
    (out / 'loss.png').write_bytes(b'my own plot')
    (out / 'summary.md').write_text('my own summary')
    before = hash_tree(str(out))
    runs = [tmp_path / 'a', tmp_path / 'b']
    for r in runs:
        r.mkdir()
    proc = run(tool_cmd('compare_gc.py', *map(str, runs), '--out', str(out)))
    assert proc.returncode == 2 and 'would overwrite loss.png' in proc.stderr
    # before any training starts
    proc = run(tool_cmd('compare_seeds.py', '--seeds', '0', '1', '--out', str(out)))
    assert proc.returncode == 2 and 'would overwrite summary.md' in proc.stderr
    assert hash_tree(str(out)) == before


@pytest.mark.parametrize(
    'tool,args,mine',
    [
        (
            'demo_report',
            ['configs/synthetic/mask-rcnn_r18-half_fpn_gn-all_gc_demo.py', 'wd'],
            'demo.json',
        ),
        ('compare_seeds', ['--seeds', '0', '1', '--out', '{tmp}/cmp'], 'compare_ap_bands.png'),
    ],
)
def test_publish_refuses_a_folder_of_user_files(tmp_path, monkeypatch, tool, args, mine):
    """--publish DIR never replaces a file it did not write: a folder with a
    user's file of the same name stops the tool before anything is written."""
    from gc_mmdet.utils import UserError
    from helpers.synthetic import load_script

    folder = tmp_path / 'results'
    folder.mkdir()
    (folder / mine).write_text('my own numbers')
    before = hash_tree(str(folder))
    monkeypatch.chdir(ROOT)
    with pytest.raises(UserError, match=rf'--publish {folder}: would overwrite {mine}'):
        argv = [a.format(tmp=tmp_path) for a in args]
        load_script(f'tools/{tool}.py').main([*argv, '--publish', str(folder)])
    assert hash_tree(str(folder)) == before and not (tmp_path / 'cmp').exists()
