"""Optimizers and learning-rate schedules with PyTorch's names, defaults and numerics.

    from gradengine import optim
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
    for epoch in range(30):
        ...; opt.zero_grad(); loss.backward(); opt.step()
        sched.step()

Every optimizer matches ``torch.optim`` step for step (float64); parameter groups,
``state_dict`` / ``load_state_dict`` and the atomic step are in :mod:`.optimizer`.
"""

from __future__ import annotations

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]

# -- optx
from . import swa_utils  # noqa: E402
from .extra import (  # noqa: E402
    ASGD,
    LBFGS,
    Adadelta,
    Adafactor,
    Adamax,
    NAdam,
    RAdam,
    Rprop,
    SparseAdam,
)

__all__ += ["ASGD", "LBFGS", "Adadelta", "Adafactor", "Adamax", "NAdam", "RAdam", "Rprop",
            "SparseAdam", "swa_utils"]
