"""tools/demo_report.py writes WORK_DIR/report.md, and never over a
report.md it did not write (a user's notes in the run's folder): it stops in
one line before reading the run or drawing anything."""

import os

import pytest

from gc_mmdet.cli.common import run_cli
from helpers.synthetic import load_script

DEMO = 'configs/synthetic/mask-rcnn_r18-half_fpn_gn-all_gc_demo.py'


def _report(work_dir, capsys):
    demo_report = load_script('tools/demo_report.py')
    with pytest.raises(SystemExit) as stop:
        run_cli(lambda: demo_report.main([DEMO, str(work_dir)]))
    assert stop.value.code == 2
    return demo_report, capsys.readouterr().err


def test_a_report_md_of_the_users_is_never_replaced(tmp_path, capsys):
    """On the old code the check did not exist: with a finished run there,
    the user's report.md was overwritten (here, with no run, it went on to
    'no finished run')."""
    work = tmp_path / 'work'
    work.mkdir()
    mine = work / 'report.md'
    mine.write_text('my notes on this run\n')
    _, err = _report(work, capsys)
    assert err == (
        f'error: {mine}: exists and was not written by tools/demo_report.py; nothing was '
        'changed. Move it, or report on another work dir\n'
    )
    assert mine.read_text() == 'my notes on this run\n' and os.listdir(work) == ['report.md']


def test_its_own_report_md_is_rewritten(tmp_path, capsys):
    work = tmp_path / 'work'
    work.mkdir()
    demo_report = load_script('tools/demo_report.py')
    (work / 'report.md').write_text(demo_report.REPORT_HEADER + '\nold table\n')
    _, err = _report(work, capsys)
    assert 'no finished run' in err  # past the check: the next one speaks
