_base_ = './mask-rcnn_r50_fpn_gn-ws-all_2x_coco.py'
# Gradient Centralization on conv and fc weights (the reference SGD_GC)
optim_wrapper = dict(constructor='GCOptimWrapperConstructor', gc_cfg=dict(layers='conv_fc'))
