"""Recurrent, attention, transformer and embedding modules against torch.nn: the cases
where gradengine once differed (values, in-place state, the exceptions raised)."""

from __future__ import annotations

import numpy as np
import pytest

import gradengine as ge
from gradengine import nn

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)


# ---------------------------------------------------------------- Embedding


@pytest.mark.parametrize("max_norm, norm_type", [(1.0, 2.0), (0.5, 1.0), (2.0, 3.0)])
def test_embedding_max_norm_renormalises_looked_up_rows_in_place_as_torch(max_norm, norm_type):
    w = (RNG.standard_normal((6, 4)) * 2).astype("float32")
    idx = np.array([[0, 2], [2, 5]])
    theirs = torch.nn.Embedding(6, 4, max_norm=max_norm, norm_type=norm_type)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(w))
    ours = nn.Embedding(6, 4, max_norm=max_norm, norm_type=norm_type)
    ours.load_state_dict({"weight": w})
    up = RNG.standard_normal((2, 2, 4)).astype("float32")
    t_out, g_out = theirs(torch.tensor(idx)), ours(ge.tensor(idx))
    (t_out * torch.tensor(up)).sum().backward()
    (g_out * ge.tensor(up)).sum().backward()
    np.testing.assert_allclose(g_out.numpy(), t_out.detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(),
                               rtol=1e-6, atol=1e-6)  # rows 1, 3 and 4 untouched
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), atol=1e-6)
    assert repr(ours) == repr(theirs)


def test_embedding_max_norm_bumps_the_version_and_a_bad_index_changes_nothing():
    emb = nn.Embedding(4, 3, max_norm=0.1)
    saved = (emb.weight ** 2).sum()  # pow saved the weight before the renorm
    emb(ge.tensor([1]))
    with pytest.raises(ge.GraphError, match="modified in place"):
        saved.backward()
    before = emb.weight.numpy().copy()
    with pytest.raises(IndexError, match="Embedding: index -1"):
        emb(ge.tensor([0, -1]))
    np.testing.assert_array_equal(emb.weight.numpy(), before)


def test_embedding_max_norm_under_jit_renormalises_the_rows_of_each_call():
    eager, jitted = nn.Embedding(6, 3, max_norm=0.5), nn.Embedding(6, 3, max_norm=0.5)
    jitted.load_state_dict(eager.state_dict())
    row5 = eager.weight.numpy()[5].copy()

    def step(idx, emb):
        loss = emb(idx).sum()
        loss.backward()
        return loss.detach()

    fast = ge.jit(step)
    for idx in ([0, 1], [2, 3], [4, 1]):  # one signature: replayed for new indices (not 5)
        step(ge.tensor(idx), eager)
        fast(ge.tensor(idx), jitted)
    np.testing.assert_array_equal(jitted.weight.numpy(), eager.weight.numpy())
    assert np.linalg.norm(eager.weight.numpy()[:5], axis=1).max() <= 0.5 + 1e-6
    np.testing.assert_array_equal(eager.weight.numpy()[5], row5)
