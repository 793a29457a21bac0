# The same with Gradient Centralization, set exactly as in the table configs.
_base_ = './mask-rcnn_r50_fpn_synthetic.py'
optim_wrapper = dict(constructor='GCOptimWrapperConstructor', gc_cfg=dict(layers='conv_fc'))
