# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""The plain-PyTorch core needs only torch: the README's example runs where
importing mmengine, mmdet, mmcv, cv2, pycocotools or faster_coco_eval fails."""

import subprocess
import sys
import textwrap

from helpers.synthetic import ROOT, assert_ok

BLOCKED = ('mmengine', 'mmdet', 'mmcv', 'cv2', 'pycocotools', 'faster_coco_eval')

SCRIPT = textwrap.dedent(f"""
    import importlib.abc, sys

    class Blocked(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split('.')[0] in {BLOCKED!r}:
                raise ImportError(f'{{name}} is blocked by the test', name=name)

    sys.meta_path.insert(0, Blocked())
    import torch, torchvision
    import gc_mmdet

    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    convs = [m.weight for m in model.modules() if isinstance(m, torch.nn.Conv2d)]

    def means():
        return [w.detach().flatten(1).mean(1).clone() for w in convs]

    def steps(n):
        for _ in range(n):
            optimizer.zero_grad()
            x = torch.randn(4, 3, 32, 32)
            torch.nn.functional.cross_entropy(model(x), torch.randint(0, 10, (4,))).backward()
            optimizer.step()

    handle = gc_mmdet.attach(optimizer, model, layers='conv_fc', location='grad')
    print(handle.summary())
    before = means()
    steps(3)
    drift = max((a - b).abs().max().item() for a, b in zip(means(), before))
    handle.remove()  # back to the plain optimizer
    steps(1)
    drift_after_remove = max((a - b).abs().max().item() for a, b in zip(means(), before))
    loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({BLOCKED!r}))
    print('RESULT', drift, drift_after_remove, loaded)
""")


def test_readme_example_runs_with_torch_only():
    proc = subprocess.run(
        [sys.executable, '-c', SCRIPT], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert_ok(proc)
    assert 'Gradient Centralization on' in proc.stdout
    drift, drift_after_remove, loaded = proc.stdout.split('RESULT ')[1].split(' ', 2)
    assert float(drift) < 1e-6  # every output channel's mean kept
    assert float(drift_after_remove) > 1e-4  # GC was what kept them
    assert loaded.strip() == '[]'
