"""Run a gradengine module and its torch.nn twin on the same weights and inputs and compare
outputs and every gradient (used by the recurrent and transformer tests)."""

from __future__ import annotations

import numpy as np

import gradengine as ge


def load_from_torch(ours, theirs):
    """Copy the torch module's state dict into ours, keys and shapes unchanged."""
    sd = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    assert set(sd) == set(ours.state_dict()), set(sd) ^ set(ours.state_dict())
    ours.load_state_dict(sd)


def _flat(out):
    if out is None:
        return []
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out]


def run_both(ours, theirs, arrays, torch, rng, dtype="float32", **kwargs):
    """Forward both on ``arrays`` (with ``kwargs``: arrays become tensors of each library),
    backward a random upstream gradient through every output; return the max absolute
    difference of the outputs and of the input and parameter gradients, and our outputs."""
    tx = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    gx = [ge.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    gkw = {k: ge.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    touts, gouts = _flat(theirs(*tx, **tkw)), _flat(ours(*gx, **gkw))
    assert [tuple(t.shape) for t in touts] == [g.shape for g in gouts]
    assert all(g.dtype == np.dtype(dtype) for g in gouts)
    ups = [rng.standard_normal(tuple(t.shape)).astype(dtype) for t in touts]
    sum(((t * torch.tensor(u)).sum() for t, u in zip(touts, ups))).backward()
    sum(((g * ge.tensor(u)).sum() for g, u in zip(gouts, ups))).backward()
    diffs = {f"output {i}": np.abs(t.detach().numpy() - g.numpy()).max()
             for i, (t, g) in enumerate(zip(touts, gouts))}
    for i, (t, g) in enumerate(zip(tx, gx)):
        if t.requires_grad:
            diffs[f"input {i} grad"] = np.abs(t.grad.numpy() - g.grad.numpy()).max()
    theirs_p = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        diffs[f"{name} grad"] = np.abs(theirs_p[name].grad.numpy() - p.grad.numpy()).max()
    return diffs, gouts


def swap_params(module, tensors):
    """Make ``module`` compute with ``tensors`` in place of its parameters (for gradcheck,
    which hands the function float64 copies); the module is for that check only after."""
    for (name, _), t in zip(list(module.named_parameters()), tensors):
        *path, leaf = name.split(".")
        object.__setattr__(module.get_submodule(".".join(path)), leaf, t)
