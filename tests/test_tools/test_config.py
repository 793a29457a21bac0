"""gc_mmdet.cli.config: every tool reads a config and its --cfg-options the
same way."""

import pytest

from gc_mmdet.cli.config import parse_cfg_options, read_config
from gc_mmdet.utils import UserError
from helpers.synthetic import GC_CONFIG, ROOT


def test_options_as_words_and_as_a_dict_read_alike():
    words = ['train_cfg.max_epochs=3', 'optim_wrapper.gc_cfg.layers=conv']
    assert parse_cfg_options(words) == {
        'train_cfg.max_epochs': 3,
        'optim_wrapper.gc_cfg.layers': 'conv',
    }
    a = read_config(f'{ROOT}/{GC_CONFIG}', words)
    b = read_config(f'{ROOT}/{GC_CONFIG}', parse_cfg_options(words))
    assert a.train_cfg.max_epochs == b.train_cfg.max_epochs == 3
    assert a.optim_wrapper.gc_cfg.layers == b.optim_wrapper.gc_cfg.layers == 'conv'
    assert (
        read_config(f'{ROOT}/{GC_CONFIG}', []).to_dict()
        == read_config(f'{ROOT}/{GC_CONFIG}').to_dict()
    )


def test_a_package_config_and_a_missing_file():
    cfg = read_config('mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py')
    assert cfg.model.type == 'MaskRCNN'
    with pytest.raises(UserError, match='config nowhere.py: no such file'):
        read_config('nowhere.py')
