"""gc_mmdet.utils.atomic_files: a write is whole or absent under its name."""

import os

import pytest

from gc_mmdet.utils.atomic_files import PARTIAL_SUFFIX, atomic_write


def test_a_write_replaces_the_whole_file_and_leaves_no_partial(tmp_path):
    path = tmp_path / 'sub' / 'a.json'
    atomic_write('{"v": 1}', path)
    atomic_write(b'{"v": 2}', path)
    assert path.read_text() == '{"v": 2}'
    assert os.listdir(path.parent) == ['a.json']


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / 'a.txt'
    atomic_write('old', path)
    with pytest.raises(TypeError):
        atomic_write(object(), path)  # fails while writing the partial file
    assert path.read_text() == 'old'


def test_the_partial_file_can_be_named(tmp_path):
    """Where a folder's own names are reserved (the synthetic set's
    ``.gc_mmdet-`` prefix), the partial file goes by one of them."""
    partial = tmp_path / '.gc_mmdet-a.json.tmp'
    atomic_write('x', tmp_path / 'a.json', partial=str(partial))
    assert (tmp_path / 'a.json').read_text() == 'x' and not partial.exists()
    assert not (tmp_path / f'a.json{PARTIAL_SUFFIX}').exists()
