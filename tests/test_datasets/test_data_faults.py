# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""A user's own COCO data with a fault: every fault kind ends, before the
first iteration, in the exact line(s) docs/own_data.md's rules promise (or a
counted warning), through tools/train.py, and the data folder is
byte-identical afterwards. The data set is written here directly (JSON and
image files), not by the project's synthetic generator."""

import functools
import os
import os.path as osp

import cv2
import pytest

from helpers.folders import hash_tree
from helpers.own_coco import (
    edit_annotations,
    find,
    make_own_coco,
    own_data_overrides,
    write_jpeg_with_orientation,
)
from helpers.synthetic import load_script, run, tool_cmd

CONFIG = 'configs/own_data/mask-rcnn_r18-half_fpn_gn-all_gc_own-coco.py'
ANN = '{root}/annotations/instances_train.json'
VAL_ANN = '{root}/annotations/instances_val.json'


def _load_tool(name):
    return load_script(f'tools/{name}.py')


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Each test its own image-header cache: nothing of the user's home."""
    monkeypatch.setenv('GC_MMDET_CACHE_DIR', str(tmp_path / 'cache'))


def run_tool(capsys, name, *args):
    """tools/NAME.py's main through its one-line error reporting, in this
    process (importing the stack once for all cases): (exit status, stdout,
    stderr)."""
    tool = _load_tool(name)
    try:
        tool.run_cli(functools.partial(tool.main, list(args)))
        code = 0
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def _truncate(path, keep):
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[: int(len(data) * keep)])


def _write(path, data: bytes):
    with open(path, 'wb') as f:
        f.write(data)


def _rotate_by_exif(root):
    # a phone's re-encode: the pixels as they were, and an EXIF tag to turn them
    path = osp.join(root, 'train', 'orchard_05.jpg')
    write_jpeg_with_orientation(path, cv2.imread(path), 6)


def _edit(edit):
    return lambda root: edit_annotations(root, 'train', edit)


def _set(kind, id_, key, value):
    def edit(coco):
        find(coco[kind], id_)[key] = value

    return _edit(edit)


def _delete(kind, id_, key):
    return _edit(lambda coco: find(coco[kind], id_).pop(key))


def _two(*faults):
    def both(root):
        for fault in faults:
            fault(root)

    return both


_AFTER_IMAGE = 'replace the file (re-download or re-export it) or remove image {id} and its annotations from the file'

# kind: (how to break a copy of the data set, the exact error lines)
ERRORS = {
    'missing-image': (
        lambda root: os.remove(osp.join(root, 'train', 'orchard_02.png')),
        [
            ANN + ': image 1010 ({root}/train/orchard_02.png): file not found; put it there or '
            'remove image 1010 and its annotations from the file'
        ],
    ),
    'empty-image': (
        lambda root: _write(osp.join(root, 'train', 'orchard_03.jpg'), b''),
        [
            ANN
            + ': image 1020 ({root}/train/orchard_03.jpg): file is empty (0 bytes); '
            + _AFTER_IMAGE.format(id=1020)
        ],
    ),
    'truncated-jpeg': (
        lambda root: _truncate(osp.join(root, 'train', 'orchard_01.jpg'), 0.6),
        [
            ANN + ': image 1000 ({root}/train/orchard_01.jpg): JPEG is truncated ({size} bytes, no '
            'end-of-image marker); ' + _AFTER_IMAGE.format(id=1000)
        ],
    ),
    'truncated-png': (
        lambda root: _truncate(osp.join(root, 'train', 'orchard_04.png'), 0.9),
        [
            ANN + ': image 1030 ({root}/train/orchard_04.png): PNG is truncated ({size} bytes, no '
            'IEND chunk); ' + _AFTER_IMAGE.format(id=1030)
        ],
    ),
    'unreadable-image': (
        # a download that saved the server's error page under the image's name
        lambda root: _write(
            osp.join(root, 'train', 'orchard_05.jpg'), b'<html><body>404 Not Found</body></html>\n'
        ),
        [
            ANN
            + ': image 1040 ({root}/train/orchard_05.jpg): not an image OpenCV can decode; '
            + _AFTER_IMAGE.format(id=1040)
        ],
    ),
    'size-mismatch': (
        _set('images', 1000, 'width', 200),
        [
            ANN + ': image 1000 ({root}/train/orchard_01.jpg): decodes to width 160, height 120, '
            'but the file says width 200, height 120; correct "width"/"height" (boxes and masks '
            'are read against them)'
        ],
    ),
    'size-mismatch-exif': (
        _rotate_by_exif,
        [
            ANN + ': image 1040 ({root}/train/orchard_05.jpg): decodes to width 160, height 112 '
            'after its EXIF orientation, but the file says width 112, height 160; correct '
            '"width"/"height" (boxes and masks are read against them)'
        ],
    ),
    'bad-image-entry': (
        _set('images', 1020, 'width', None),
        [
            ANN + ': image 1020: "width" and "height" must be positive integers, got null and 128; '
            "write the image's size in pixels"
        ],
    ),
    'duplicate-image-id': (
        _set('images', 1050, 'id', 1040),
        [
            ANN + ': image id 1040 is used by 2 images (orchard_05.jpg, empty_01.png); give each '
            'image its own id'
        ],
    ),
    'duplicate-annotation-id': (
        _set('annotations', 104, 'id', 103),
        [
            ANN + ': annotation id 103 is used by 2 annotations; give each annotation its own id '
            '(mmdet stops on repeated ids, pycocotools keeps only the last)'
        ],
    ),
    'bad-annotation-entry': (
        _delete('annotations', 102, 'area'),
        [ANN + ": annotation 102 (image 1000): no 'area'; add it or remove the annotation"],
    ),
    'orphan-annotation': (
        _set('annotations', 105, 'image_id', 2000),
        [
            ANN
            + ': annotation 105 (image 2000): image_id 2000 names no image in "images"; add the '
            'image or correct the image_id (mmdet would drop the annotation without a word)'
        ],
    ),
    'undeclared-category': (
        _set('annotations', 107, 'category_id', 99),
        [
            ANN + ': annotation 107 (image 1020): category_id 99 is not declared in "categories" '
            '(declared: [3, 7, 12]); declare it or correct the annotation (mmdet would drop it '
            'without a word and learn the object as background)'
        ],
    ),
    'bad-bbox': (
        _edit(lambda coco: find(coco['annotations'], 108)['bbox'].__setitem__(1, None)),
        [
            ANN + ': annotation 108 (image 1030): bbox [{x}, null, {w}, {h}] is not 4 finite '
            'numbers [x, y, width, height]; correct or remove the annotation'
        ],
    ),
    'bad-segmentation': (
        _two(
            _edit(
                lambda coco: find(coco['annotations'], 100)['segmentation'][0].__setitem__(3, None)
            ),
            _edit(
                lambda coco: find(coco['annotations'], 101)['segmentation'].__setitem__(
                    'size', [64, 64]
                )
            ),
        ),
        [
            ANN + ': annotation 100 (image 1000): segmentation polygon {poly} holds something '
            'other than finite numbers; correct or remove the annotation',
            ANN + ": annotation 101 (image 1000): RLE size [64, 64] differs from its image's "
            "[height, width] [120, 160]; re-encode the mask at the image's size; correct or remove "
            'the annotation',
        ],
    ),
    'missing-segmentation': (
        _delete('annotations', 109, 'segmentation'),
        [
            ANN + ': annotation 109 (image 1030): no "segmentation", which this config needs (it '
            'loads masks: LoadAnnotations with_mask=True, or a segm metric); add the mask, or use '
            'a box-only config'
        ],
    ),
    'no-training-images': (
        None,  # filter_cfg.min_size=200, below: every image is smaller
        [
            ANN + ": no image is left for training after metainfo.classes (['apple', 'pear', "
            "'plum']) and filter_cfg (1 without an annotation of the config's classes "
            '(filter_empty_gt); 5 with a side under filter_cfg.min_size=200); check the class '
            'names against "categories" and filter_cfg'
        ],
    ),
}


def _fill(root):
    """Values the expected lines take from the (broken) copy itself."""
    import json

    with open(osp.join(root, 'annotations', 'instances_train.json')) as f:
        anns = json.load(f)['annotations']
    x, _, w, h = find(anns, 108)['bbox']
    poly = json.dumps(find(anns, 100)['segmentation'][0])
    return dict(root=root, x=x, w=w, h=h, poly=poly if len(poly) <= 60 else poly[:57] + '...')


@pytest.fixture
def data(tmp_path):
    root = str(tmp_path / 'my_fruit')
    make_own_coco(root)
    return root


def _stops_before_training(capsys, data, tmp_path, opts, want):
    """tools/train.py with ``opts`` ends before the first iteration with
    exactly the lines ``want``, the data folder untouched."""
    before = hash_tree(data)
    work_dir = str(tmp_path / 'work')
    code, out, err = run_tool(
        capsys, 'train', CONFIG, '--work-dir', work_dir, '--cfg-options', *opts
    )
    assert code == 2, err
    assert err.splitlines() == want
    assert 'Traceback' not in out + err
    assert not osp.exists(work_dir) or not any(
        files for _, _, files in os.walk(work_dir)
    )  # training never started
    assert hash_tree(data) == before


@pytest.mark.parametrize('kind', list(ERRORS))
def test_fault_is_one_line_before_training(kind, data, tmp_path, capsys):
    breaks, lines = ERRORS[kind]
    opts = own_data_overrides(data)
    if breaks is None:
        opts.append('train_dataloader.dataset.filter_cfg.min_size=200')
    else:
        breaks(data)
    fmt = _fill(data)
    cut = {'truncated-jpeg': 'orchard_01.jpg', 'truncated-png': 'orchard_04.png'}.get(kind)
    if cut:
        fmt['size'] = os.path.getsize(osp.join(data, 'train', cut))
    _stops_before_training(
        capsys, data, tmp_path, opts, ['error: ' + line.format(**fmt) for line in lines]
    )


def _categories(edit):
    return _edit(lambda coco: edit(coco['categories']))


_CLASSES = 'train_dataloader.dataset.metainfo.classes'
# how "categories" or metainfo.classes can be wrong: (how to break the copy,
# --cfg-options, the exact error line); the categories are apple (id 3),
# pear (7) and plum (12), the classes ('apple', 'pear', 'plum')
CATEGORY_ERRORS = {
    'category-not-an-object': (
        _categories(lambda cats: cats.append('quince')),
        [],
        ANN + ': categories[3]: \'quince\' is not an object; write {{"id": <integer>, '
        '"name": "<class name>"}}',
    ),
    'category-id-a-string': (
        _categories(lambda cats: cats[0].__setitem__('id', '3')),
        [],
        ANN + ": categories[0] (name 'apple'): \"id\" '3' is not an integer; give every "
        'category a unique integer id, the one its annotations use as category_id',
    ),
    'category-id-a-list': (
        _categories(lambda cats: cats[1].__setitem__('id', [7])),
        [],
        ANN + ': categories[1] (name \'pear\'): "id" [7] is not an integer; give every '
        'category a unique integer id, the one its annotations use as category_id',
    ),
    'category-without-id': (
        _categories(lambda cats: cats[2].pop('id')),
        [],
        ANN + ': categories[2] (name \'plum\'): no "id"; give every category a unique '
        'integer id, the one its annotations use as category_id',
    ),
    'category-without-name': (
        _categories(lambda cats: cats[1].pop('name')),
        [],
        ANN + ': category 7: no "name"; write its class name as a non-empty string, as '
        'metainfo.classes lists it',
    ),
    'category-name-empty': (
        _categories(lambda cats: cats[1].__setitem__('name', ' ')),
        [],
        ANN + ': category 7: "name" \' \' is not a class name; write its class name as a '
        'non-empty string, as metainfo.classes lists it',
    ),
    'duplicate-category-id': (
        _categories(lambda cats: cats[2].__setitem__('id', 7)),
        [],
        ANN + ": category id 7 is used by 2 categories (['pear', 'plum']); give each category "
        'its own id (pycocotools keeps only the last, and mmdet labels their objects past '
        'metainfo.classes)',
    ),
    # before the rule: IndexError in the mask head's loss after training started
    'duplicate-category-name': (
        _categories(lambda cats: cats.append(dict(id=20, name='pear'))),
        [],
        ANN + ": category name 'pear' is used by 2 categories (ids [7, 20]); merge them into "
        'one category (one id for all its annotations) or give each its own name (mmdet would '
        'label the second past metainfo.classes: an IndexError in training, or its objects '
        'learned as background)',
    ),
    'class-not-in-categories': (
        None,
        [f"{_CLASSES}=['Apple','pear','plum']"],
        ANN + ": classes ['Apple'] of train_dataloader.dataset.metainfo.classes name no "
        "category of the file (its categories: ['apple', 'pear', 'plum']) (spelt differently: "
        "'Apple' ~ 'apple'); correct the class names or add the categories",
    ),
    # before the rule: trained, with every label carrying another class's name
    'class-order': (
        None,
        [f"{_CLASSES}=['pear','apple','plum']"],
        ANN + ": train_dataloader.dataset.metainfo.classes lists ['pear', 'apple', 'plum'], but "
        "mmdet numbers labels in the file's order of categories (['apple', 'pear', 'plum']), "
        "so labels would carry other classes' names; write metainfo.classes in the file's order",
    ),
    'classes-a-string': (
        None,
        [f'{_CLASSES}=apple'],
        _CLASSES + ": is the string 'apple', which mmdet reads letter by letter as the classes "
        "['a', 'p', 'p', 'l', 'e']; write a tuple: classes=('apple',)",
    ),
    'classes-repeated': (
        None,
        [f"{_CLASSES}=['apple','apple','plum']"],
        _CLASSES + ": lists ['apple'] more than once; list each class once (mmdet would give "
        'each copy a label of its own)',
    ),
    'classes-are-ids': (
        None,
        [f'{_CLASSES}=[3,7,12]'],
        _CLASSES + ': holds [3, 7, 12], which are not class names; list the category names '
        '(their "name" in the annotation file, not their ids) as strings',
    ),
    # before the rule: trained a head with outputs for 2 of the 3 classes
    'num-classes-mismatch': (
        None,
        ['model.roi_head.mask_head.num_classes=2'],
        'model.roi_head.mask_head.num_classes: 2, but train_dataloader.dataset uses 3 classes '
        "(['apple', 'pear', 'plum']); set num_classes=3 in every head "
        '(num_classes=len(classes))',
    ),
}


@pytest.mark.parametrize('case', list(CATEGORY_ERRORS))
def test_category_fault_is_one_line_before_training(case, data, tmp_path, capsys):
    breaks, opts, line = CATEGORY_ERRORS[case]
    if breaks is not None:
        breaks(data)
    _stops_before_training(
        capsys,
        data,
        tmp_path,
        own_data_overrides(data) + opts,
        ['error: ' + line.format(root=data)],
    )


# kind: (how to break the copy, the exact warning line); each trains anyway
WARNINGS = {
    'degenerate-polygon': (
        _set('annotations', 100, 'segmentation', [[10.0, 10.0, 30.0, 30.0]]),
        ANN + ': 1 annotations without a polygon of 3 or more points (mmdet ignores them in '
        'training), first: annotation 100',
    ),
    'tiny-box': (
        _edit(lambda coco: find(coco['annotations'], 102)['bbox'].__setitem__(3, 0.5)),
        ANN + ': 1 annotations with a box under 1 px wide or high, or area <= 0 (mmdet skips '
        'them), first: annotation 102',
    ),
    'box-outside-image': (
        _edit(lambda coco: find(coco['annotations'], 105)['bbox'].__setitem__(0, 5000.0)),
        ANN + ': 1 annotations with a box entirely outside their image (mmdet skips them), '
        'first: annotation 105',
    ),
}
SUMMARY = [
    'data: ' + ANN + ": training on 5 of 6 images (1 without an annotation of the config's "
    'classes (filter_empty_gt))',
    'data: ' + VAL_ANN + ': 4 images',
]


@pytest.mark.parametrize('kind', list(WARNINGS))
def test_tolerated_fault_is_a_counted_warning(kind, data, capsys):
    breaks, line = WARNINGS[kind]
    breaks(data)
    before = hash_tree(data)
    code, out, err = run_tool(
        capsys, 'check_data', CONFIG, '--cfg-options', *own_data_overrides(data)
    )
    assert code == 0, err
    assert err.splitlines() == ['warning: ' + line.format(root=data)]
    assert out.splitlines() == [s.format(root=data) for s in SUMMARY] + ['data check: no errors']
    assert hash_tree(data) == before


def test_clean_data_passes_without_a_word(data, capsys):
    code, out, err = run_tool(
        capsys, 'check_data', CONFIG, '--cfg-options', *own_data_overrides(data)
    )
    assert (code, err) == (0, '')
    assert out.splitlines() == [s.format(root=data) for s in SUMMARY] + ['data check: no errors']


@pytest.mark.slow  # starts a process: seconds
def test_several_faults_all_listed_with_counts(data, tmp_path):
    """Five missing images: three named, then a count; the other faults of the
    run follow, one line each; through a real tools/train.py process."""
    for name in (
        'orchard_01.jpg',
        'orchard_02.png',
        'orchard_03.jpg',
        'orchard_04.png',
        'orchard_05.jpg',
    ):
        os.remove(osp.join(data, 'train', name))
    _set('annotations', 107, 'category_id', 99)(data)
    _set('annotations', 104, 'image_id', 4242)(data)
    before = hash_tree(data)
    work_dir = str(tmp_path / 'work')
    proc = run(
        tool_cmd('train.py', CONFIG, '--work-dir', work_dir, cfg_options=own_data_overrides(data))
    )
    assert proc.returncode == 2
    ann = ANN.format(root=data)
    assert proc.stderr.splitlines() == [
        f'error: {ann}: image 1000 ({data}/train/orchard_01.jpg): file not found; put it there '
        'or remove image 1000 and its annotations from the file',
        f'error: {ann}: image 1010 ({data}/train/orchard_02.png): file not found; put it there '
        'or remove image 1010 and its annotations from the file',
        f'error: {ann}: image 1020 ({data}/train/orchard_03.jpg): file not found; put it there '
        'or remove image 1020 and its annotations from the file',
        f'error: {ann}: ... and 2 more image files not found',
        f'error: {ann}: annotation 104 (image 4242): image_id 4242 names no image in "images"; '
        'add the image or correct the image_id (mmdet would drop the annotation without a word)',
        f'error: {ann}: annotation 107 (image 1020): category_id 99 is not declared in '
        '"categories" (declared: [3, 7, 12]); declare it or correct the annotation (mmdet would '
        'drop it without a word and learn the object as background)',
    ]
    assert not osp.exists(work_dir)
    assert hash_tree(data) == before


def test_test_tool_checks_the_test_set(data, tmp_path, capsys):
    """tools/test.py checks test_dataloader's data (here: the val split)."""
    os.remove(osp.join(data, 'val', 'market_02.jpg'))
    ckpt = tmp_path / 'model.pth'
    ckpt.write_bytes(b'not read: the data check comes first')
    code, out, err = run_tool(
        capsys,
        'test',
        CONFIG,
        str(ckpt),
        '--work-dir',
        str(tmp_path / 'work'),
        '--cfg-options',
        *own_data_overrides(data),
    )
    assert code == 2
    assert err.splitlines() == [
        f'error: {VAL_ANN.format(root=data)}: image 1010 ({data}/val/market_02.jpg): file not '
        'found; put it there or remove image 1010 and its annotations from the file'
    ]


_NO_CLASSES = (
    'error: ' + ANN + ": train_dataloader.dataset has no metainfo.classes, so it uses its type's "
    '80 class names, and {why}; set metainfo=dict(classes=(...)) to the category names to train '
    "on, in the file's order"
)


@pytest.mark.parametrize(
    'names, why',
    [
        # of apple, pear and plum it would train on apple alone, without a word
        (
            ('apple', 'pear', 'plum'),
            "the file's categories ['pear', 'plum'] are not among them, so their objects would "
            'be learned as background',
        ),
        # all COCO names: numbered in the file's order, named by COCO's (label 0 'person'
        # for the file's 'car'), without a word
        (
            ('car', 'person', 'dog'),
            "labels would carry the names of those classes (['person', 'bicycle', 'car', "
            "'motorcycle', 'airplane', 'bus', 'train', 'truck', ...]) but follow the file's "
            "categories (['car', 'person', 'dog'])",
        ),
    ],
)
def test_no_classes_in_the_config_means_coco_classes(data, capsys, names, why):
    """A CocoDataset without metainfo.classes names its labels by COCO's 80."""
    _categories(lambda cats: [c.__setitem__('name', n) for c, n in zip(cats, names)])(data)
    opts = own_data_overrides(data) + ['train_dataloader.dataset.metainfo=None']
    code, out, err = run_tool(capsys, 'check_data', CONFIG, '--cfg-options', *opts)
    assert code == 2
    assert err.splitlines() == [_NO_CLASSES.format(root=data, why=why)]


def test_second_check_reads_no_unchanged_image(data, capsys, monkeypatch, tmp_path):
    """Image headers are cached by size and mtime outside the data folder: an
    unchanged image is not opened again, a changed one is."""
    from gc_mmdet.datasets.checks import image_files

    opts = own_data_overrides(data)
    assert run_tool(capsys, 'check_data', CONFIG, '--cfg-options', *opts)[0] == 0
    assert os.listdir(tmp_path / 'cache' / 'data_check')
    before = hash_tree(data)

    def no_reading(path):
        raise AssertionError(f'{path} was read again')

    monkeypatch.setattr(image_files, 'probe_file', no_reading)
    assert run_tool(capsys, 'check_data', CONFIG, '--cfg-options', *opts)[0] == 0
    monkeypatch.undo()
    monkeypatch.setenv('GC_MMDET_CACHE_DIR', str(tmp_path / 'cache'))
    _truncate(osp.join(data, 'train', 'orchard_01.jpg'), 0.5)
    code, _, err = run_tool(capsys, 'check_data', CONFIG, '--cfg-options', *opts)
    assert code == 2 and 'orchard_01.jpg): JPEG is truncated' in err
    assert set(hash_tree(data)) == set(before)  # no file was added beside the data
