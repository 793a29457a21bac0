# Copyright (c) gc_mmdet contributors. Licensed under the Apache License 2.0.
"""Distributed launch that also works on machines without a GPU.

mmengine 0.10.7's ``pytorch``/``slurm`` launchers call
``torch.cuda.set_device(local_rank)`` before creating the process group, and
its default DDP wrapper passes ``device_ids=[local_rank]``; both fail on a
CPU-only machine. On such a machine :func:`prepare_distributed` creates a
gloo process group itself (mmengine then skips its own ``init_dist``) and
asks for a DDP wrapper without device ids (``model_wrapper_cfg`` for the
Runner, ``strategy.model_wrapper`` for a ``FlexibleRunner``'s
``DDPStrategy``). With CUDA nothing is changed.

Every distributed layout also gets the same intra-op thread count
(:func:`same_thread_count`): torchrun sets ``OMP_NUM_THREADS=1`` only when a
node runs several processes, so 2 nodes x 1 process would otherwise run each
process on all cores and sum in a different order than 1 node x 2 processes.

Evaluation results are gathered over the process group
(:func:`collect_over_network`), not through mmengine's default
``collect_device='cpu'``, which has every rank pickle its part into
``./.dist_test/tmpXXXX`` relative to its own working directory: on nodes
that do not share that directory rank 0 stops with ``FileNotFoundError:
.dist_test/... is not an shared directory``, and it leaves a ``.dist_test``
folder in the user's working directory.
"""

import contextlib
import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from typing import Any, Callable, Iterator, List, Sequence, Tuple

import torch
import torch.distributed as dist

from .config_parts import evaluator_metrics, is_type
from .errors import UserError

__all__ = [
    'INIT_TIMED_OUT',
    'PREEMPTED',
    'collect_over_network',
    'init_deadline',
    'restart_count',
    'signal_numbers',
    'launch_failure',
    'leave_process_group',
    'prepare_distributed',
    'same_thread_count',
    'on_main_process',
]


#: exit status of a run stopped by a preemption notice after it saved its last
#: iteration: run the same command again to resume (EX_TEMPFAIL of sysexits.h)
PREEMPTED = 75
#: exit status of a process whose process group was not formed in time
INIT_TIMED_OUT = 76


def restart_count() -> int:
    """How many times this run was restarted: by torchrun
    (``TORCHELASTIC_RESTART_COUNT``) or by Slurm's requeue
    (``SLURM_RESTART_COUNT``); 0 on a first start."""
    return sum(
        int(os.environ.get(k) or 0) for k in ('TORCHELASTIC_RESTART_COUNT', 'SLURM_RESTART_COUNT')
    )


@contextlib.contextmanager
def init_deadline(seconds: float) -> Iterator[None]:
    """End this process with one line and :data:`INIT_TIMED_OUT` when the
    block (the process group's creation) lasts more than ``seconds``.

    gloo's connect has no deadline of its own (gloo#520): a worker restarted
    by torchrun that reads a dead attempt's address waits for ever, whatever
    ``init_process_group(timeout=...)`` says. Under ``MAX_RESTARTS`` the
    failed attempt is then restarted like any other. The C++ wait releases
    the GIL, so a timer thread can end the process.

    Example:
        >>> with init_deadline(300):
        ...     pass  # dist.init_process_group(...)
    """

    def expire() -> None:
        print(
            f'error: rank {os.environ.get("RANK", "?")}: the process group was not formed within '
            f'{seconds:g} s (a peer that never came, or a restart that reads a dead attempt); '
            'ending this process so that the launcher can restart it (GC_MMDET_INIT_TIMEOUT sets '
            'the deadline)',
            file=sys.stderr,
            flush=True,
        )
        os._exit(INIT_TIMED_OUT)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def signal_numbers(names: Sequence[str]) -> List[signal.Signals]:
    """``['SIGTERM', 'USR1']`` -> their ``signal.Signals``; one line naming
    the unknown one otherwise."""
    if isinstance(names, str):
        names = [names]
    found = []
    for name in names:
        full = str(name).upper()
        full = full if full.startswith('SIG') else 'SIG' + full
        if full not in signal.Signals.__members__ or full in ('SIGKILL', 'SIGSTOP'):
            raise UserError(
                f'PreemptionHook signals: {name!r} is not a signal a process can catch; '
                "name them as 'SIGTERM', 'SIGUSR1', 'SIGINT', ..."
            )
        found.append(signal.Signals[full])
    return found


def _init_timeout() -> float:
    value = os.environ.get('GC_MMDET_INIT_TIMEOUT', '300')
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1
    if not seconds > 0:
        raise UserError(
            f'GC_MMDET_INIT_TIMEOUT={value!r}: must be a number of seconds above 0 (e.g. 300)'
        )
    return seconds


def _slurm_env() -> None:
    """Translate Slurm's variables into torch's ``env://`` ones."""
    os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
    os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
    os.environ.setdefault('LOCAL_RANK', os.environ.get('SLURM_LOCALID', '0'))
    if 'MASTER_ADDR' not in os.environ:
        nodes = os.environ['SLURM_NODELIST']
        # the first host of the job; stdout only, so that nothing scontrol
        # prints on stderr can end up in the address
        hosts = subprocess.run(
            ['scontrol', 'show', 'hostname', nodes], check=True, stdout=subprocess.PIPE, text=True
        ).stdout.split()
        os.environ['MASTER_ADDR'] = hosts[0]
    os.environ.setdefault('MASTER_PORT', '29500')


def _mpi_env() -> None:
    os.environ.setdefault('RANK', os.environ['OMPI_COMM_WORLD_RANK'])
    os.environ.setdefault('WORLD_SIZE', os.environ['OMPI_COMM_WORLD_SIZE'])
    os.environ.setdefault('LOCAL_RANK', os.environ['OMPI_COMM_WORLD_LOCAL_RANK'])
    os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
    os.environ.setdefault('MASTER_PORT', '29500')


def same_thread_count() -> int:
    """Give this process ``OMP_NUM_THREADS`` intra-op threads, 1 when unset.

    torchrun's own rule (1 thread when a node runs several processes) becomes
    the rule for every layout and launcher, so that 1 node x 2 processes,
    2 nodes x 1 process and a Slurm job give bit-identical weights. A value
    the user exports is kept.

    Returns:
        int: the thread count now in use.
    """
    threads = int(os.environ.setdefault('OMP_NUM_THREADS', '1'))
    os.environ.setdefault('MKL_NUM_THREADS', str(threads))
    torch.set_num_threads(threads)
    return threads


def collect_over_network(cfg: Any) -> None:
    """Gather every evaluator's results over the process group.

    Sets ``collect_device='gpu'`` on the metrics of ``val_evaluator`` and
    ``test_evaluator`` that name neither a ``collect_device`` nor a
    ``collect_dir`` (a shared folder the user chose). Despite its name, mmengine's
    ``'gpu'`` mode is ``all_gather_object`` on the process group's device:
    CUDA tensors with NCCL, CPU tensors with gloo; no file is written.
    """
    for key in ('val_evaluator', 'test_evaluator'):
        for metric in evaluator_metrics(cfg.get(key)):
            if isinstance(metric, dict) and 'collect_dir' not in metric:
                metric.setdefault('collect_device', 'gpu')


def prepare_distributed(cfg: Any, launcher: str) -> bool:
    """Prepare ``cfg`` and the process group for ``launcher``.

    Args:
        cfg: the config the Runner will be built from (modified in place).
        launcher: ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Returns:
        bool: True when the CPU (gloo) path was taken.
    """
    if launcher == 'none':
        return False
    same_thread_count()
    collect_over_network(cfg)
    if torch.cuda.is_available():
        if not dist.is_initialized():
            # what the Runner would do later (it skips it when a group exists),
            # done now so that the data check can run on rank 0 only
            from mmengine.dist import init_dist

            with init_deadline(_init_timeout()):
                init_dist(launcher, **(cfg.get('env_cfg') or {}).get('dist_cfg', {}))
        return False
    if not dist.is_initialized():
        if launcher == 'slurm':
            _slurm_env()
        elif launcher == 'mpi':
            _mpi_env()
        timeout = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('timeout', 1800)

        with init_deadline(_init_timeout()):
            dist.init_process_group(
                'gloo', init_method='env://', timeout=timedelta(seconds=timeout)
            )
    if is_type(cfg.get('runner_type', 'Runner'), 'Runner'):
        cfg.model_wrapper_cfg = _cpu_wrapper(cfg, cfg.get('model_wrapper_cfg'))
    else:  # FlexibleRunner: its DDPStrategy (the default) wraps the model
        strategy = dict(cfg.get('strategy') or dict(type='DDPStrategy'))
        if is_type(strategy.get('type'), 'DDPStrategy'):
            strategy['model_wrapper'] = _cpu_wrapper(cfg, strategy.get('model_wrapper'))
            cfg.strategy = strategy
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    return True


def _cpu_wrapper(cfg: Any, wrapper: Any) -> dict:
    """A DDP wrapper config for a CPU model: no device ids, the rest as
    mmengine's defaults and the config's ``find_unused_parameters``."""
    wrapper = dict(wrapper or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    return wrapper


def leave_process_group() -> None:
    """Leave the process group cleanly: wait for every rank, then destroy it.

    Call it on every rank once the last collective is done. mmengine never
    destroys the group, so without this each process exits with its gloo
    worker threads alive; one of them may still be releasing the tensors of
    a collective that has just returned (a Python object: it needs the
    GIL) while the interpreter shuts down, and Python ends such a thread
    with ``pthread_exit``, which C++ turns into ``std::terminate``: the
    process dies of SIGABRT ("terminate called without an active
    exception") after its work is done, in 1 of 4 to 1 of 8 runs on 2 CPU
    ranks. The barrier lets no rank close its connections while another
    still talks; ``destroy_process_group`` then stops the worker threads
    while the interpreter is whole. Without a process group it does
    nothing.

    Example:
        >>> runner.train()  # doctest: +SKIP
        >>> leave_process_group()  # doctest: +SKIP
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def launch_failure(exit_codes: Sequence[int]) -> Tuple[str, int]:
    """The launcher's one line, and its exit status, for the exit codes of
    the processes torchrun reports as failed.

    When a process fails, torchrun stops the others with SIGTERM (exit code
    -15); a process that was still leaving after its own error (e.g. rank 1
    after the data check's shared verdict) is then reported beside it. Those
    are named as stopped, not as failures of their own.

    Example:
        >>> line, status = launch_failure([2, -15])
        >>> status, line.split('; ')[0]
        (2, 'error: 1 process(es) of this launch failed (exit status 2), 1 more stopped by the launcher')
    """
    own = [c for c in exit_codes if c != -signal.SIGTERM]
    stopped = len(exit_codes) - len(own) if own else 0
    own = own or list(exit_codes)
    codes = sorted(set(own))
    line = (
        f'error: {len(own)} process(es) of this launch failed (exit status '
        f'{", ".join(map(str, codes))})'
        + (f', {stopped} more stopped by the launcher' if stopped else '')
        + '; their messages are above'
    )
    return line, codes[-1] if codes and codes[-1] > 0 else 1


def on_main_process(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on rank 0 only, the others waiting for its verdict.

    Without a process group (or with one process) ``fn`` just runs. With
    one, rank 0 runs it and broadcasts whether it raised
    :class:`~gc_mmdet.utils.UserError`; rank 0 re-raises it and every other
    rank exits with status 2 without printing it again, all of them having
    left the process group (:func:`leave_process_group`).

    Example:
        >>> on_main_process(lambda: check_datasets(cfg))  # doctest: +SKIP
    """

    if not dist.is_available() or not dist.is_initialized() or dist.get_world_size() == 1:
        return fn()
    verdict, result = [None], None
    if dist.get_rank() == 0:
        try:
            result = fn()
        except UserError as e:
            verdict = [str(e)]
    dist.broadcast_object_list(verdict, src=0)
    if verdict[0] is not None:
        rank = dist.get_rank()
        leave_process_group()  # every rank stops here, together
        if rank == 0:
            raise UserError(verdict[0])
        raise SystemExit(2)
    return result
