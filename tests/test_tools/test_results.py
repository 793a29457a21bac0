"""tools/repo_tools/results.py: what a published figure records (commit, machine)
and the refusal to publish into a checkout with uncommitted changes; the
demo's band check against a published comparison."""

import subprocess

import pytest

from gc_mmdet.cli.compare_seeds import band_line, seed_band
from gc_mmdet.utils.errors import UserError
from repo_tools.results import check_committed


def _git(root, *args):
    subprocess.run(['git', *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def checkout(tmp_path):
    root = tmp_path / 'repo'
    (root / 'docs' / 'results').mkdir(parents=True)
    (root / 'README.md').write_text('figures\n')
    _git(root, 'init', '-q')
    _git(root, 'add', 'README.md')
    _git(root, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'init')
    return root


def test_publishing_into_a_checkout_needs_its_changes_committed(checkout, tmp_path):
    results = str(checkout / 'docs' / 'results')
    check_committed(results, root=str(checkout))  # clean
    (checkout / 'notes.txt').write_text('untracked files do not count\n')
    check_committed(results, root=str(checkout))
    (checkout / 'README.md').write_text('figures, edited\n')
    with pytest.raises(UserError) as error:
        check_committed(results, root=str(checkout))
    line = str(error.value)
    assert '\n' not in line and 'uncommitted changes to tracked files (README.md)' in line
    assert 'commit or stash them first' in line
    # elsewhere the figures record the commit with +changes instead
    check_committed(str(tmp_path / 'elsewhere'), root=str(checkout))


COMPARE = dict(
    arms=dict(
        gc=dict(
            per_seed={
                '0': dict(bbox=0.687, segm=0.714),
                '1': dict(bbox=0.656, segm=0.692),
                '2': dict(bbox=0.647, segm=0.690),
            }
        )
    ),
    machine=dict(cpu='Intel(R) Xeon(R) Processor', cpu_capability='AVX2'),
)


def test_seed_band():
    assert seed_band(COMPARE['arms']) == dict(bbox=(0.647, 0.687, 3), segm=(0.690, 0.714, 3))


def test_band_line_inside_and_outside():
    here = dict(cpu_capability='AVX512')
    inside = band_line({'coco/bbox_mAP': 0.662, 'coco/segm_mAP': 0.693}, COMPARE, 'c.json', here)
    assert inside == (
        'this run against the GC arm over 3 seeds (c.json): box AP 0.662 inside 0.647-0.687, '
        'mask AP 0.693 inside 0.690-0.714'
    )
    outside = band_line({'coco/bbox_mAP': 0.600, 'coco/segm_mAP': 0.693}, COMPARE, 'c.json', here)
    assert 'box AP 0.600 OUTSIDE 0.647-0.687' in outside
    assert '(kernels AVX2), this run on AVX512' in outside
    same = band_line({'coco/bbox_mAP': 0.600}, COMPARE, 'c.json', dict(cpu_capability='AVX2'))
    assert 'kernels' not in same
