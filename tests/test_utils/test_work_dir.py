"""gc_mmdet.utils.work_dir: a tool writes into a folder only where it may."""

import json

import pytest

from gc_mmdet.utils import UserError, check_output_files, check_work_dir


def test_work_dir_rules(tmp_path):
    check_work_dir(str(tmp_path / 'new'))  # does not exist
    empty = tmp_path / 'empty'
    empty.mkdir()
    check_work_dir(str(empty))
    # an earlier run's work dir is reused: it has last_checkpoint or a run folder
    by_ckpt, by_log = tmp_path / 'run_a', tmp_path / 'run_b'
    by_ckpt.mkdir()
    (by_ckpt / 'last_checkpoint').write_text('epoch_1.pth')
    (by_log / '20261124_101500').mkdir(parents=True)
    for run_dir in (by_ckpt, by_log):
        (run_dir / 'metrics.json').write_text('{}')
        check_work_dir(str(run_dir))
    mine = tmp_path / 'mine'
    mine.mkdir()
    (mine / 'metrics.json').write_text('my numbers')
    with pytest.raises(UserError, match='holds files that no training run wrote'):
        check_work_dir(str(mine))
    cfg = empty / 'exp.py'
    cfg.write_text('x = 1')
    with pytest.raises(UserError, match='would overwrite the config'):
        check_work_dir(str(empty), str(cfg))


def test_output_files_replace_only_what_the_tool_wrote(tmp_path):
    out = tmp_path / 'out'
    check_output_files(str(out), ['a.png', 'owner.json'], 'owner.json', ('kind',))  # new folder
    out.mkdir()
    (out / 'a.png').write_text('a user picture')
    with pytest.raises(UserError, match=r'--out .*: would overwrite a.png, which this tool'):
        check_output_files(str(out), ['a.png', 'owner.json'], 'owner.json', ('kind',))
    # a JSON file of the same name without the tool's keys is the user's too
    (out / 'owner.json').write_text(json.dumps({'mine': 1}))
    with pytest.raises(UserError, match='would overwrite a.png, owner.json'):
        check_output_files(str(out), ['a.png', 'owner.json'], 'owner.json', ('kind',))
    (out / 'owner.json').write_text(json.dumps({'kind': 'demo'}))
    check_output_files(str(out), ['a.png', 'owner.json'], 'owner.json', ('kind',))
    (tmp_path / 'file').write_text('x')
    with pytest.raises(UserError, match='--publish .*: exists and is not a folder'):
        check_output_files(str(tmp_path / 'file'), [], 'o.json', (), '--publish')
