# The demo (make demo): the same with Gradient Centralization, set exactly as
# in the table configs.
_base_ = './mask-rcnn_r18-half_fpn_gn-all_demo.py'
optim_wrapper = dict(constructor='GCOptimWrapperConstructor', gc_cfg=dict(layers='conv_fc'))
