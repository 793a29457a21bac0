# Table 9 "R50 (4c1f)": the box head is the shared 4-conv-1-fc head.
_base_ = './mask-rcnn_r50_fpn_1x_coco.py'
model = dict(roi_head=dict(bbox_head=dict(type='Shared4Conv1FCBBoxHead', conv_out_channels=256)))
