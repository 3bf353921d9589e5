"""Stochastic weight averaging and EMA of weights, as ``torch.optim.swa_utils``.

    swa_model = swa_utils.AveragedModel(model)              # equal-weight average (SWA)
    ema_model = swa_utils.AveragedModel(
        model, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.999))
    swa_sched = swa_utils.SWALR(opt, swa_lr=0.05, anneal_epochs=5)
    for epoch in range(epochs):
        train_one_epoch(); swa_model.update_parameters(model); swa_sched.step()
    swa_utils.update_bn(loader, swa_model)                  # BatchNorm statistics again

The averages are computed as torch computes them (on the CPU: ``avg + (p - avg) / (n + 1)``;
on a GPU torch's foreach ``lerp`` by ``1 / (n + 1)``; EMA: ``lerp(ema, p, 1 - decay)``), and
written into the averaged copy's parameters in place.
"""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np

from .. import backend
from ..core.gradmode import no_grad
from ..core.tensor import Tensor
from ..nn.module import Module
from ..nn.normalization import _BatchNorm, _InstanceNorm
from .lr_scheduler import LRScheduler, _per_group, _warn_get_lr_called_within_step
from .optimizer import lerp

__all__ = ["SWALR", "AveragedModel", "get_ema_avg_fn", "get_ema_multi_avg_fn",
           "get_swa_avg_fn", "get_swa_multi_avg_fn", "update_bn"]


def _is_float(t):
    return t.data.dtype.kind in "fc"


def _xp(t):
    return np if t.device == "cpu" else backend.xp_of(t.device)


def _write(t, arr):
    """``t.copy_(arr)``: into ``t``'s own array (shared with the parameter it detaches)."""
    t.copy_(Tensor._make(arr, t.device))


def get_ema_multi_avg_fn(decay=0.999):
    """An in-place exponential moving average of lists of tensors:
    ``ema = lerp(ema, p, 1 - decay)`` (integer tensors: ``ema * decay + p * (1 - decay)``).

    Raises:
        ValueError: ``decay`` outside [0, 1].
    """
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         "[0,1] range.")

    def ema_update(ema_param_list, current_param_list, _):
        with no_grad():
            for e, p in zip(ema_param_list, current_param_list):
                if _is_float(ema_param_list[0]):
                    _write(e, lerp(_xp(e), e.data, p.data, 1 - decay))
                else:
                    _write(e, (e.data * decay + p.data * (1 - decay)).astype(e.data.dtype))
    return ema_update


def get_swa_multi_avg_fn():
    """An in-place equal-weight running average of lists of tensors:
    ``avg = lerp(avg, p, 1 / (n + 1))`` (the weight rounded to float32 as torch's).
    Integer tensors raise torch's RuntimeError."""

    def swa_update(averaged_param_list, current_param_list, num_averaged):
        n = _count(num_averaged)
        with no_grad():
            for a, p in zip(averaged_param_list, current_param_list):
                if _is_float(averaged_param_list[0]):
                    w = float(np.float32(1 / (n + 1))) if isinstance(num_averaged, Tensor) \
                        else 1 / (n + 1)
                    _write(a, lerp(_xp(a), a.data, p.data, w))
                elif isinstance(num_averaged, Tensor):  # torch's foreach addcdiv refuses
                    raise RuntimeError(_INT_ADDCDIV)
                else:
                    raise RuntimeError("For integral input tensors, argument alpha must not "
                                       "be a floating point number.")
    return swa_update


_INT_ADDCDIV = ("Integer division with addcdiv is no longer supported, and in a future  "
                "release addcdiv will perform a true division of tensor1 and tensor2. The "
                "historic addcdiv behavior can be implemented as (input + value * "
                "torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer inputs and as "
                "(input + value * tensor1 / tensor2) for float inputs. The future addcdiv "
                "behavior is just the latter implementation: (input + value * tensor1 / "
                "tensor2), for all dtypes.")


def get_ema_avg_fn(decay=0.999):
    """``(ema, p, n) -> decay * ema + (1 - decay) * p``, a new Tensor.

    Raises:
        ValueError: ``decay`` outside [0, 1].
    """
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         "[0,1] range.")

    def ema_update(ema_param, current_param, num_averaged):
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_swa_avg_fn():
    """``(avg, p, n) -> avg + (p - avg) / (n + 1)``, a new Tensor."""

    def swa_update(averaged_param, current_param, num_averaged):
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


def _count(n):
    return int(n.item()) if isinstance(n, Tensor) else int(n)


class AveragedModel(Module):
    """A copy of ``model`` whose parameters are the average of ``model``'s over the calls
    to :meth:`update_parameters` (SWA by default; EMA with ``get_ema_multi_avg_fn``).

    Args:
        model: the module to average (deep-copied).
        device: where the copy lives (None: where ``model`` is).
        avg_fn: ``(averaged, current, n_averaged) -> new averaged`` for each parameter.
        multi_avg_fn: ``(averaged_list, current_list, n_averaged)``, updating in place.
        use_buffers: average the buffers too (else they are copied from ``model``).
    Attributes:
        module: the averaged copy. n_averaged: an int64 buffer, the number of updates.
    Raises:
        AssertionError: both ``avg_fn`` and ``multi_avg_fn`` given (torch's error).
    Example:
        >>> ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.99))
        >>> ema.update_parameters(model)
    """

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None,
                 use_buffers=False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        dev = _device_of(self.module, None if device is None else
                         backend.normalize_device(device, "AveragedModel"))
        self.register_buffer("n_averaged", Tensor._make(
            backend.to_device_array(np.zeros((), dtype=np.int64), dev), dev))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model) -> None:
        """Fold ``model``'s current parameters (and buffers) into the average."""
        with no_grad():
            self._update(model)

    def _update(self, model):
        if self.use_buffers:
            own = list(itertools.chain(self.module.parameters(), self.module.buffers()))
            theirs = list(itertools.chain(model.parameters(), model.buffers()))
        else:
            own, theirs = list(self.module.parameters()), list(model.parameters())
        n = _count(self.n_averaged)
        mine, cur = [], []
        for a, p in zip(own, theirs):
            q = p.detach()
            if q.device != a.device:
                q = q.to(a.device)
            mine.append(a.detach())
            cur.append(q)
            if n == 0:
                a.detach().copy_(q)
        if n > 0:
            if self.multi_avg_fn is not None or self.avg_fn is None:
                groups = {}
                for a, q in zip(mine, cur):
                    groups.setdefault((a.device, a.data.dtype), ([], []))
                    groups[(a.device, a.data.dtype)][0].append(a)
                    groups[(a.device, a.data.dtype)][1].append(q)
                for (dev, _), (avgs, news) in groups.items():
                    if self.multi_avg_fn is not None:
                        self.multi_avg_fn(avgs, news, self.n_averaged)
                    elif dev != "cpu":  # torch: the foreach lerp on a GPU
                        get_swa_multi_avg_fn()(avgs, news, self.n_averaged)
                    else:
                        fn = get_swa_avg_fn()
                        for a, q in zip(avgs, news):
                            a.copy_(fn(a, q, self.n_averaged))
            else:
                for a, q in zip(mine, cur):
                    a.copy_(self.avg_fn(a, q, self.n_averaged))
        if not self.use_buffers:
            for b_swa, b_model in zip(self.module.buffers(), model.buffers()):
                q = b_model.detach()
                if q.device != b_swa.device:
                    q = q.to(b_swa.device)
                b_swa.detach().copy_(q)
        self.n_averaged.copy_(Tensor._make(
            _xp(self.n_averaged).asarray(n + 1, dtype=np.int64), self.n_averaged.device))


def _device_of(module, default=None):
    for t in itertools.chain(module.parameters(), module.buffers()):
        return t.device
    return default or "cpu"


def _batch_norms(model):
    return [m for m in model.modules()
            if isinstance(m, _BatchNorm) and not isinstance(m, _InstanceNorm)]


def update_bn(loader, model, device=None) -> None:
    """Recompute the running statistics of every BatchNorm in ``model`` with one pass
    over ``loader`` (each item an input, or a list/tuple whose first entry is the input),
    as a cumulative average (``momentum=None`` for the pass), as torch's ``update_bn``."""
    with no_grad():
        bns = _batch_norms(model)
        momenta = {}
        for m in bns:
            _reset_running_stats(m)
            momenta[m] = m.momentum
        if not momenta:
            return
        was_training = model.training
        model.train()
        for m in momenta:
            m.momentum = None
        for x in loader:
            if isinstance(x, (list, tuple)):
                x = x[0]
            if device is not None:
                x = x.to(device)
            model(x)
        for m, mom in momenta.items():
            m.momentum = mom
        model.train(was_training)


def _reset_running_stats(m):
    if not m.track_running_stats:
        return
    m.running_mean.zero_()
    m.running_var.fill_(1)
    m.num_batches_tracked.zero_()


class SWALR(LRScheduler):
    """Anneal each group's lr to ``swa_lr`` over ``anneal_epochs`` epochs (``'cos'`` or
    ``'linear'``), then hold it, as ``torch.optim.swa_utils.SWALR``.

    Example:
        >>> sched = SWALR(opt, swa_lr=0.05, anneal_epochs=5, anneal_strategy="linear")
    """

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos",
                 last_epoch=-1):
        swa_lrs = _per_group("swa_lr", optimizer, swa_lr)
        for lr, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got "
                             f"{anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def _set_anneal_func(self, strategy):
        self._anneal_strategy = strategy
        self.anneal_func = self._cosine_anneal if strategy == "cos" else self._linear_anneal

    def get_lr(self):
        _warn_get_lr_called_within_step(self)
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        groups = self.optimizer.param_groups
        prev_lrs = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in groups]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [g["swa_lr"] * alpha + lr * (1 - alpha) for g, lr in zip(groups, prev_lrs)]

    def state_dict(self):
        return {k: v for k, v in self.__dict__.items()
                if k not in ("optimizer", "anneal_func", "_get_lr_called_within_step")}

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)

