_base_ = './mask-rcnn_r50_fpn_1x_coco_v1.py'
# Gradient Centralization on conv and fc weights (the reference SGD_GC)
optim_wrapper = dict(constructor='GCOptimWrapperConstructor', gc_cfg=dict(layers='conv_fc'))
