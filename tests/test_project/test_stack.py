"""The OpenMMLab stack is real: mmcv's compiled CPU ops and an mmdet model."""

import pytest
import torch


def test_mmcv_nms_cpu_hand_checked():
    from mmcv.ops import nms

    boxes = torch.tensor(
        [
            [0.0, 0.0, 10.0, 10.0],  # area 100
            [1.0, 1.0, 11.0, 11.0],  # IoU with box 0: 81/119 = 0.68
            [0.0, 0.0, 10.0, 5.0],  # IoU with box 0: 50/100 = 0.5
            [20.0, 20.0, 30.0, 30.0],
        ]
    )
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6])
    dets, keep = nms(boxes, scores, iou_threshold=0.6)
    assert keep.tolist() == [0, 2, 3]
    assert dets[:, 4].tolist() == pytest.approx([0.9, 0.7, 0.6])
    _, keep = nms(boxes, scores, iou_threshold=0.4)
    assert keep.tolist() == [0, 3]


def test_mmcv_roi_align_cpu_hand_checked():
    from mmcv.ops import RoIAlign

    # f(x, y) = x + 10 y is linear, so bilinear sampling is exact: each bin
    # value is f at the bin centre.
    ys, xs = torch.meshgrid(torch.arange(8.0), torch.arange(8.0), indexing='ij')
    feat = (xs + 10 * ys)[None, None]
    rois = torch.tensor([[0.0, 1.0, 2.0, 5.0, 6.0]])  # x1, y1, x2, y2 = 1, 2, 5, 6
    op = RoIAlign(output_size=(2, 2), spatial_scale=1.0, sampling_ratio=2, aligned=False)
    out = op(feat, rois)
    # bins of 2x2 pixels; centres at x in {2, 4}, y in {3, 5}
    expected = torch.tensor([[2 + 30.0, 4 + 30.0], [2 + 50.0, 4 + 50.0]])
    torch.testing.assert_close(out[0, 0], expected)


def test_mask_rcnn_r50_fpn_forward_backward():
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmdet.utils import register_all_modules
    from mmengine.hub import get_config
    from mmengine.structures import InstanceData

    register_all_modules()
    cfg = get_config('mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py')
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()

    h, w = 128, 160
    img = torch.randint(0, 255, (3, h, w), dtype=torch.uint8)
    sample = DetDataSample(
        metainfo=dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w), scale_factor=(1.0, 1.0))
    )
    gt = InstanceData()
    gt.bboxes = torch.tensor([[10.0, 20.0, 70.0, 90.0], [60.0, 30.0, 150.0, 120.0]])
    gt.labels = torch.tensor([0, 5])
    masks = torch.zeros(2, h, w, dtype=torch.uint8)
    masks[0, 20:90, 10:70] = 1
    masks[1, 30:120, 60:150] = 1
    gt.masks = BitmapMasks(masks.numpy(), h, w)
    sample.gt_instances = gt

    data = model.data_preprocessor(dict(inputs=[img], data_samples=[sample]), True)
    losses = model(**data, mode='loss')
    parsed, _ = model.parse_losses(losses)
    assert {'loss_rpn_cls', 'loss_cls', 'loss_bbox', 'loss_mask'} <= set(losses)
    assert torch.isfinite(parsed)
    parsed.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads if g is not None)
    assert model.roi_head.mask_head.conv_logits.weight.grad.abs().sum() > 0
