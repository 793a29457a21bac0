_base_ = './dino-4scale_r50_12e_coco.py'
# Gradient Centralization for an adaptive optimizer: centralize AdamW's update
# (the reference Adam's gc_loc=False); attention projections are fc weights
optim_wrapper = dict(
    constructor='GCOptimWrapperConstructor', gc_cfg=dict(layers='conv_fc', location='update')
)
