"""Loss modules with PyTorch's names and arguments; each calls its ``F`` function:
``criterion = nn.CrossEntropyLoss(); loss = criterion(logits, labels)``."""

from __future__ import annotations

from .. import functional as F
from ..errors import ShapeError
from .module import Module

__all__ = ["BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "HuberLoss", "L1Loss",
           "MSELoss", "NLLLoss", "SmoothL1Loss"]


def _reduce(v, reduction):
    if reduction == "mean":
        return v.mean()
    if reduction == "sum":
        return v.sum()
    if reduction == "none":
        return v
    raise ValueError(f"loss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _check_reduction(name, reduction):
    if reduction not in ("mean", "sum", "none") and not (reduction == "batchmean" and
                                                         name == "KLDivLoss"):
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got "
                         f"{reduction!r}")
    return reduction


def _same_shape(name, a, b):
    if tuple(a.shape) != tuple(getattr(b, "shape", a.shape)):
        raise ShapeError(f"{name}: input of shape {tuple(a.shape)} and target of shape "
                         f"{tuple(b.shape)} differ (a silent broadcast would be wrong)")


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = _check_reduction(type(self).__name__, reduction)

    def extra_repr(self):
        return ""  # torch.nn's loss modules print as MSELoss()


class MSELoss(_Loss):
    """Mean squared error, ``mean((input - target)^2)``."""

    def forward(self, input, target):  # noqa: A002
        _same_shape("MSELoss", input, target)
        if self.reduction == "mean":
            return F.mse_loss(input, target)
        d = input - target
        return _reduce(d * d, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error, ``mean(|input - target|)``."""

    def forward(self, input, target):  # noqa: A002
        _same_shape("L1Loss", input, target)
        return F.l1_loss(input, target, reduction=self.reduction)


class HuberLoss(_Loss):
    """``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        self.delta = float(delta)

    def forward(self, input, target):  # noqa: A002
        _same_shape("HuberLoss", input, target)
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class SmoothL1Loss(_Loss):
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0):
        super().__init__(reduction)
        self.beta = float(beta)

    def forward(self, input, target):  # noqa: A002
        _same_shape("SmoothL1Loss", input, target)
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class NLLLoss(_Loss):
    """Negative log-likelihood of integer labels given log-probabilities (N, C)."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self.weight, self.ignore_index = weight, int(ignore_index)

    def forward(self, input, target):  # noqa: A002
        return F.nll_loss(input, target, weight=self.weight,
                                   ignore_index=self.ignore_index, reduction=self.reduction)


def _full_cross_entropy():
    return F.cross_entropy


class CrossEntropyLoss(_Loss):
    """Cross-entropy of logits (N, C) and integer labels (N,): ``log_softmax`` + NLL,
    with PyTorch's ``weight``, ``ignore_index`` and ``label_smoothing``."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got "
                             f"{label_smoothing}")
        self.weight, self.ignore_index = weight, int(ignore_index)
        self.label_smoothing = float(label_smoothing)

    def forward(self, input, target):  # noqa: A002
        if self.weight is None and self.ignore_index == -100 and not self.label_smoothing:
            return F.cross_entropy(input, target, reduction=self.reduction)
        return _full_cross_entropy()(input, target, weight=self.weight,
                                     ignore_index=self.ignore_index, reduction=self.reduction,
                                     label_smoothing=self.label_smoothing)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities in [0, 1] (log clamped at -100, as PyTorch)."""

    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        self.weight = weight

    def forward(self, input, target):  # noqa: A002
        _same_shape("BCELoss", input, target)
        if self.weight is None and self.reduction == "mean":
            return F.binary_cross_entropy(input, target)
        logp = F.clip(F.log(input), -100.0, None)
        log1mp = F.clip(F.log(1 - input), -100.0, None)
        v = -(target * logp + (1 - target) * log1mp)
        if self.weight is not None:
            v = v * self.weight
        return _reduce(v, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of logits (stable: ``max(x, 0) - x t + log(1 + e^-|x|)``),
    with PyTorch's ``weight`` and ``pos_weight``."""

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None):
        super().__init__(reduction)
        self.weight, self.pos_weight = weight, pos_weight

    def forward(self, input, target):  # noqa: A002
        _same_shape("BCEWithLogitsLoss", input, target)
        if self.weight is None and self.pos_weight is None and self.reduction == "mean":
            return F.binary_cross_entropy_with_logits(input, target)
        # log(1 + e^-x) and log(1 + e^x) without overflow
        sp_neg = F.relu(-input) + F.log(1 + F.exp(-F.abs(input)))   # -log sigmoid(x)
        sp_pos = sp_neg + input                                     # -log(1 - sigmoid(x))
        pw = 1.0 if self.pos_weight is None else self.pos_weight
        v = target * sp_neg * pw + (1 - target) * sp_pos
        if self.weight is not None:
            v = v * self.weight
        return _reduce(v, self.reduction)


def _legacy(reduction, size_average, reduce):
    """PyTorch's deprecated size_average / reduce flags, as it maps them to reduction."""
    if size_average is None and reduce is None:
        return reduction
    if reduce is False:
        return "none"
    return "sum" if size_average is False else "mean"


def _loss_class(name, fn, params, doc, weight=False):
    """A loss module calling ``fn(*inputs, **its arguments, reduction=...)``; ``params`` are
    its constructor's arguments in PyTorch's order with their defaults (``size_average`` and
    ``reduce`` are PyTorch's deprecated flags)."""
    names = [p for p, _ in params]

    def __init__(self, *args, **kwargs):
        if len(args) > len(names):
            raise TypeError(f"{name}: takes at most {len(names)} positional arguments")
        values = dict(params)
        values.update(zip(names, args))
        for k, v in kwargs.items():
            if k not in values:
                raise TypeError(f"{name}: unexpected argument {k!r}")
            values[k] = v
        reduction = _legacy(values.pop("reduction"), values.pop("size_average", None),
                            values.pop("reduce", None))
        _Loss.__init__(self, reduction)
        if weight:
            self.register_buffer("weight", values.pop("weight"))
        self._kw = values
        for k, v in values.items():
            setattr(self, k, v)

    def forward(self, *inputs):
        extra = {"weight": self.weight} if weight else {}
        return fn(*inputs, **extra, **{k: getattr(self, k) for k in self._kw},
                  reduction=self.reduction)

    def extra_repr(self):
        return ""
    cls = type(name, (_Loss,), {"__init__": __init__, "forward": forward, "__doc__": doc,
                                "extra_repr": extra_repr, "__module__": __name__})
    __all__.append(name)
    return cls


_R = [("size_average", None), ("reduce", None), ("reduction", "mean")]
KLDivLoss = _loss_class("KLDivLoss", F.kl_div, _R + [("log_target", False)],
                        "KL divergence of log-probability input from target, "
                        "``torch.nn.KLDivLoss`` (reduction also 'batchmean').")
MarginRankingLoss = _loss_class("MarginRankingLoss", F.margin_ranking_loss,
                                [("margin", 0.0)] + _R, "max(0, -y (x1 - x2) + margin).")
SoftMarginLoss = _loss_class("SoftMarginLoss", F.soft_margin_loss, _R,
                             "log(1 + exp(-y x)).")
HingeEmbeddingLoss = _loss_class("HingeEmbeddingLoss", F.hinge_embedding_loss,
                                 [("margin", 1.0)] + _R,
                                 "x where y = 1, max(0, margin - x) where y = -1.")
CosineEmbeddingLoss = _loss_class("CosineEmbeddingLoss", F.cosine_embedding_loss,
                                  [("margin", 0.0)] + _R,
                                  "1 - cos(x1, x2) where y = 1, max(0, cos - margin) where "
                                  "y = -1.")
TripletMarginLoss = _loss_class("TripletMarginLoss", F.triplet_margin_loss,
                                [("margin", 1.0), ("p", 2.0), ("eps", 1e-6), ("swap", False)]
                                + _R, "max(0, margin + d(a, p) - d(a, n)).")
PoissonNLLLoss = _loss_class("PoissonNLLLoss", F.poisson_nll_loss,
                             [("log_input", True), ("full", False), ("size_average", None),
                              ("eps", 1e-8), ("reduce", None), ("reduction", "mean")],
                             "Poisson negative log-likelihood.")
GaussianNLLLoss = _loss_class("GaussianNLLLoss", F.gaussian_nll_loss,
                              [("full", False), ("eps", 1e-6), ("reduction", "mean")],
                              "Gaussian negative log-likelihood of (input, target, var).")
MultiLabelSoftMarginLoss = _loss_class(
    "MultiLabelSoftMarginLoss", F.multilabel_soft_margin_loss, [("weight", None)] + _R,
    "Multi-label one-versus-all logistic loss, averaged over the classes.", weight=True)
