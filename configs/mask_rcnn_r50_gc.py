# Mask R-CNN R50-FPN 1x on COCO with Gradient Centralization (Table 9, row 1).
_base_ = './mask_rcnn/mask-rcnn_r50_fpn_gc_1x_coco.py'
