_base_ = './retinanet_r50_fpn_1x_coco.py'
# Gradient Centralization on conv and fc weights (SGD: on the gradient)
optim_wrapper = dict(constructor='GCOptimWrapperConstructor', gc_cfg=dict(layers='conv_fc'))
