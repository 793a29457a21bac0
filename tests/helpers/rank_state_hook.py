"""A test-only hook: every rank saves its model weights before and after
training, so that a test can compare the ranks of a distributed run, and
what it saw of the launch (rank, world size, local rank, threads)."""

import json
import os
import os.path as osp

import torch
from mmengine.dist import get_dist_info, get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class SaveRankStateHook(Hook):
    """Save ``rank{r}_{before,after}.pth`` (the weights) and
    ``rank{r}_launch.json`` in the work dir."""

    def _save(self, runner, tag):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        torch.save(state, osp.join(runner.work_dir, f'rank{get_rank()}_{tag}.pth'))

    def before_train(self, runner):
        self._save(runner, 'before')
        rank, world_size = get_dist_info()
        seen = dict(
            rank=rank,
            world_size=world_size,
            threads=torch.get_num_threads(),
            env={
                k: os.environ.get(k)
                for k in (
                    'RANK',
                    'WORLD_SIZE',
                    'LOCAL_RANK',
                    'MASTER_ADDR',
                    'MASTER_PORT',
                    'OMP_NUM_THREADS',
                )
            },
        )
        with open(osp.join(runner.work_dir, f'rank{rank}_launch.json'), 'w') as f:
            json.dump(seen, f)

    def after_train(self, runner):
        self._save(runner, 'after')
