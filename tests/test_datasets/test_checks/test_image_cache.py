"""gc_mmdet.datasets.checks.image_cache: what a check learnt of an image is
reused while the file is unchanged, and kept outside the data folder."""

import os

from gc_mmdet.datasets.checks.image_cache import ImageCache
from helpers.folders import hash_tree


def test_facts_are_reused_until_the_file_changes(tmp_path, monkeypatch):
    monkeypatch.setenv('GC_MMDET_CACHE_DIR', str(tmp_path / 'cache'))
    data = tmp_path / 'images'
    data.mkdir()
    img = data / 'a.jpg'
    img.write_bytes(b'0123')
    before = hash_tree(str(data))
    cache = ImageCache(str(data))
    cache.put('a.jpg', os.stat(img), [4, 3, 1])
    cache.save()
    assert hash_tree(str(data)) == before  # never beside the data
    assert ImageCache(str(data)).get('a.jpg', os.stat(img)) == [4, 3, 1]
    img.write_bytes(b'01234')
    assert ImageCache(str(data)).get('a.jpg', os.stat(img)) is None
    assert os.listdir(tmp_path / 'cache' / 'data_check') == [os.path.basename(cache.path)]


def test_an_unreadable_cache_is_an_empty_one(tmp_path, monkeypatch):
    monkeypatch.setenv('GC_MMDET_CACHE_DIR', str(tmp_path / 'cache'))
    cache = ImageCache(str(tmp_path))
    os.makedirs(os.path.dirname(cache.path))
    with open(cache.path, 'w') as f:
        f.write('{half')
    assert ImageCache(str(tmp_path)).entries == {}
