_base_ = ['mmdet::gn/mask-rcnn_r101_fpn_gn-all_2x_coco.py', '../_base_/gc_mmdet_runtime.py']
