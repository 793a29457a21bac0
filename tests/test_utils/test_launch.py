"""How the tools leave a process group: every rank, at a barrier, with the
group destroyed before the interpreter shuts down (docs/distributed.md,
"Every process exits 0")."""

import pytest
import torch.distributed as dist

from gc_mmdet.cli.common import run_cli
from gc_mmdet.utils import UserError
from gc_mmdet.utils.launch import launch_failure


@pytest.fixture
def group(tmp_path):
    dist.init_process_group('gloo', init_method=f'file://{tmp_path}/init', rank=0, world_size=1)
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


def test_a_tool_that_succeeds_leaves_the_group(group):
    """mmengine never destroys the group; run_cli does, after main returns."""
    seen = []
    run_cli(lambda: seen.append(dist.is_initialized()))
    assert seen == [True] and not dist.is_initialized()


def test_a_tool_that_fails_alone_keeps_the_group(group, capsys):
    """A rank whose main raises exits without the barrier, where the other
    ranks would never arrive."""

    def fails():
        raise UserError('no such file')

    with pytest.raises(SystemExit) as e:
        run_cli(fails)
    assert e.value.code == 2 and dist.is_initialized()
    assert capsys.readouterr().err == 'error: no such file\n'


@pytest.mark.parametrize(
    'codes, line, status',
    [
        ([2, 2], '2 process(es) of this launch failed (exit status 2)', 2),
        # rank 0 left first: torchrun stopped rank 1, which was about to exit 2 itself
        (
            [2, -15],
            '1 process(es) of this launch failed (exit status 2), 1 more stopped by the launcher',
            2,
        ),
        ([-9, 1], '2 process(es) of this launch failed (exit status -9, 1)', 1),
        ([-15], '1 process(es) of this launch failed (exit status -15)', 1),  # stopped from outside
    ],
)
def test_the_launcher_line_names_who_failed_and_who_was_stopped(codes, line, status):
    assert launch_failure(codes) == (f'error: {line}; their messages are above', status)
