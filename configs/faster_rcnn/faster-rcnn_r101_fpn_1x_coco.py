_base_ = ['mmdet::faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py', '../_base_/gc_mmdet_runtime.py']
