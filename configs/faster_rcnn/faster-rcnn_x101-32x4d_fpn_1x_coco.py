_base_ = ['mmdet::faster_rcnn/faster-rcnn_x101-32x4d_fpn_1x_coco.py', '../_base_/gc_mmdet_runtime.py']
