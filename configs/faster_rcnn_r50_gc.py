# Faster R-CNN R50-FPN 1x on COCO with Gradient Centralization (Table 8, row 1).
_base_ = './faster_rcnn/faster-rcnn_r50_fpn_gc_1x_coco.py'
