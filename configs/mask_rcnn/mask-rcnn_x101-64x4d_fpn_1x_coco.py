_base_ = ['mmdet::mask_rcnn/mask-rcnn_x101-64x4d_fpn_1x_coco.py', '../_base_/gc_mmdet_runtime.py']
