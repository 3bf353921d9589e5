"""AdaptiveLogSoftmaxWithLoss, SyncBatchNorm, nn.DataParallel, RNNBase / RNNCellBase,
Container, NLLLoss2d and F.multi_head_attention_forward against torch (float64: values,
gradients, state-dict keys and shapes, errors) and float64 finite differences."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradengine as ge
import gradengine.nn.functional as F
from gradengine import nn
from gradengine.nn import gapfill

torch = pytest.importorskip("torch")
from module_oracle import load_from_torch  # noqa: E402


def _t(a):
    return torch.tensor(a)


def _close(ours, theirs, tol=1e-10):
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), atol=tol, rtol=tol)


def _pair_asm(head_bias, rng):
    torch.manual_seed(0)
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], div_value=2.0,
                                                 head_bias=head_bias).double()
    ours = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], div_value=2.0, head_bias=head_bias,
                                         dtype="float64")
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    load_from_torch(ours, theirs)
    return ours, theirs


@pytest.mark.parametrize("head_bias", [False, True])
def test_adaptive_log_softmax_matches_torch(head_bias, rng):
    ours, theirs = _pair_asm(head_bias, rng)
    x = rng.standard_normal((7, 8))
    y = np.array([0, 2, 3, 5, 6, 9, 4])
    gx, tx = ge.tensor(x, requires_grad=True), _t(x).requires_grad_()
    out, tout = ours(gx, ge.tensor(y)), theirs(tx, _t(y))
    assert type(out).__name__ == "_ASMoutput" and out._fields == ("output", "loss")
    _close(out.output, tout.output)
    _close(out.loss, tout.loss)
    assert out.loss.shape == ()
    (out.loss + out.output[1] * 0.5).backward()
    (tout.loss + tout.output[1] * 0.5).backward()
    _close(gx.grad, tx.grad)
    theirs_p = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        _close(p.grad, theirs_p[name].grad)
    _close(ours.log_prob(ge.tensor(x)), theirs.log_prob(_t(x)))
    np.testing.assert_array_equal(ours.predict(ge.tensor(x)).numpy(),
                                  theirs.predict(_t(x)).numpy())
    assert ours.predict(ge.tensor(x)).dtype == np.int64
    one, tone = ours(ge.tensor(x[0]), ge.tensor(np.array(4))), theirs(_t(x[0]), _t(np.array(4)))
    assert one.output.shape == tuple(tone.output.shape) == ()
    _close(one.output, tone.output)


def test_adaptive_log_softmax_gradcheck_and_errors(rng):
    ours, _ = _pair_asm(True, rng)
    y = ge.tensor(np.array([1, 4, 8]))
    x = ge.tensor(rng.standard_normal((3, 8)), requires_grad=True)
    assert ge.gradcheck(lambda t: ours(t, y).loss, (x,))
    with pytest.raises(ValueError, match="cutoffs"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, [6, 3])
    with pytest.raises(ValueError, match="cutoffs"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, [])
    with pytest.raises(ValueError, match="cutoffs"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 10])
    with pytest.raises(RuntimeError, match="Target values should be in"):
        ours(x, ge.tensor(np.array([0, 1, 10])))
    with pytest.raises(RuntimeError, match="same size in the batch"):
        ours(x, ge.tensor(np.array([0, 1])))


def test_sync_batch_norm_in_one_process_is_batch_norm(rng):
    x = rng.standard_normal((4, 3, 5))
    torch.manual_seed(0)
    theirs = torch.nn.SyncBatchNorm(3).double()
    ours = nn.SyncBatchNorm(3, dtype="float64")
    ref = torch.nn.BatchNorm1d(3).double()
    assert set(ours.state_dict()) == set(theirs.state_dict())
    gx, rx = ge.tensor(x, requires_grad=True), _t(x).requires_grad_()
    w = rng.standard_normal(x.shape)
    y, ry = ours(gx), ref(rx)
    _close(y, ry)
    (y * ge.tensor(w)).sum().backward()
    (ry * _t(w)).sum().backward()
    _close(gx.grad, rx.grad)
    _close(ours.running_var, ref.running_var)
    ours.eval()
    ref.eval()
    _close(ours(ge.tensor(x)), ref(_t(x)))
    with pytest.raises(ValueError, match="at least 2D"):
        ours(ge.tensor(rng.standard_normal(3)))


def test_convert_sync_batchnorm_replaces_batch_norms_keeping_weights(rng):
    model = nn.ModuleList([nn.BatchNorm2d(3), nn.ModuleList([nn.BatchNorm1d(2)]),
                           nn.InstanceNorm1d(2), nn.Linear(2, 2)])
    model[0].weight.data[...] = rng.standard_normal(3)
    model[0].running_mean.data[...] = 0.5
    model[1][0].eval()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    conv = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert type(conv[0]) is nn.SyncBatchNorm and type(conv[1][0]) is nn.SyncBatchNorm
    assert type(conv[2]) is nn.InstanceNorm1d and type(conv[3]) is nn.Linear
    assert not conv[1][0].training
    after = conv.state_dict()
    assert set(after) == set(before)
    for k in before:
        np.testing.assert_array_equal(after[k].numpy(), before[k])
    seq = nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(nn.Linear(2, 3),
                                                                nn.BatchNorm1d(3)))
    assert type(seq[1]) is nn.SyncBatchNorm and type(seq.layers[1]) is nn.SyncBatchNorm
    tm = torch.nn.Sequential(torch.nn.BatchNorm2d(3))
    assert set(torch.nn.SyncBatchNorm.convert_sync_batchnorm(tm).state_dict()) == \
        {"0." + k for k in nn.SyncBatchNorm(3).state_dict()}


def test_sync_batch_norm_all_reduces_statistics_and_gradients(rng, monkeypatch):
    # a world of two ranks holding the same batch: the reducer doubles; torch's BatchNorm
    # over the concatenated batch is the reference
    monkeypatch.setitem(gapfill._SYNC, "sum", lambda t: t.detach() * 2)
    monkeypatch.setitem(gapfill._SYNC, "active", lambda: True)
    x, w = rng.standard_normal((3, 2, 4)), rng.standard_normal((3, 2, 4))
    ours = nn.SyncBatchNorm(2, dtype="float64", momentum=0.3)
    ours.weight.data[...] = [1.5, -0.5]
    ref = torch.nn.BatchNorm1d(2, momentum=0.3).double()
    with torch.no_grad():
        ref.weight.copy_(torch.tensor([1.5, -0.5]))
    gx = ge.tensor(x, requires_grad=True)
    rx = _t(np.concatenate([x, x])).requires_grad_()
    y, ry = ours(gx), ref(rx)
    _close(y, ry[:3])
    (y * ge.tensor(w)).sum().backward()
    (ry * _t(np.concatenate([w, w]))).sum().backward()
    _close(gx.grad, rx.grad[:3], 1e-9)
    _close(ours.weight.grad, ref.weight.grad * 0.5, 1e-9)  # each rank: its own half
    _close(ours.running_mean, ref.running_mean)
    _close(ours.running_var, ref.running_var)
    assert int(ours.num_batches_tracked.item()) == 1


def test_distributed_installs_the_sync_hook_and_a_world_of_one_is_local():
    import gradengine.distributed as dist
    assert gapfill._SYNC["sum"] is not None
    assert not gapfill._SYNC["active"]() or dist.world_size() > 1


def test_data_parallel_wraps_a_module_as_torch(rng):
    inner = nn.Linear(3, 2, dtype="float64")
    dp = nn.DataParallel(inner)
    tdp = torch.nn.DataParallel(torch.nn.Linear(3, 2))
    assert dp.module is inner and dp.dim == 0 and dp.device_ids == tdp.device_ids == []
    assert sorted(dp.state_dict()) == sorted(tdp.state_dict()) == ["module.bias",
                                                                   "module.weight"]
    x = ge.tensor(rng.standard_normal((4, 3)))
    np.testing.assert_array_equal(dp(x).numpy(), inner(x).numpy())
    dp.load_state_dict({k: v.numpy() * 2 for k, v in dp.state_dict().items()})
    assert [n for n, _ in dp.named_parameters()] == ["module.weight", "module.bias"]


def test_rnn_bases_are_real_base_classes():
    for cls, base in ((nn.RNN, nn.RNNBase), (nn.LSTM, nn.RNNBase), (nn.GRU, nn.RNNBase),
                      (nn.RNNCell, nn.RNNCellBase), (nn.LSTMCell, nn.RNNCellBase),
                      (nn.GRUCell, nn.RNNCellBase)):
        assert issubclass(cls, base)
        assert issubclass(getattr(torch.nn, cls.__name__), getattr(torch.nn, base.__name__))
    cell = nn.RNNCellBase(3, 4, True, 2)
    tcell = torch.nn.RNNCellBase(3, 4, True, 2)
    assert {k: tuple(v.shape) for k, v in cell.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in tcell.state_dict().items()}
    lstm = nn.RNNBase("LSTM", 3, 4)
    tl = torch.nn.RNNBase("LSTM", 3, 4)
    assert {k: tuple(v.shape) for k, v in lstm.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in tl.state_dict().items()}


def test_container_and_nll_loss_2d_are_deprecated_aliases(rng):
    with pytest.warns(UserWarning, match="Container is deprecated"):
        c = nn.Container(fc=nn.Linear(2, 3))
    assert [n for n, _ in c.named_children()] == ["fc"]
    with pytest.warns(DeprecationWarning, match="NLLLoss2d"):
        loss = nn.NLLLoss2d(reduction="sum")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tloss = torch.nn.NLLLoss2d(reduction="sum")
        tlegacy = torch.nn.NLLLoss2d(size_average=False)
        legacy = nn.NLLLoss2d(size_average=False)
    assert isinstance(loss, nn.NLLLoss)
    x = rng.standard_normal((2, 3, 4, 4))
    lp = x - np.log(np.exp(x).sum(1, keepdims=True))
    y = rng.integers(0, 3, (2, 4, 4))
    gx, tx = ge.tensor(lp, requires_grad=True), _t(lp).requires_grad_()
    out, tout = loss(gx, ge.tensor(y)), tloss(tx, _t(y))
    _close(out, tout)
    _close(legacy(ge.tensor(lp), ge.tensor(y)), tlegacy(_t(lp), _t(y)))
    out.backward()
    tout.backward()
    _close(gx.grad, tx.grad)


@pytest.mark.parametrize("case", ["plain", "masks", "bias_kv", "separate", "unbatched"])
def test_multi_head_attention_forward_matches_torch(case, rng):
    L, S, n, e, h = 3, 4, 2, 6, 2
    tf = torch.nn.functional
    w_in, b_in = rng.standard_normal((3 * e, e)) * 0.4, rng.standard_normal(3 * e) * 0.1
    w_out, b_out = rng.standard_normal((e, e)) * 0.4, rng.standard_normal(e) * 0.1
    shape_q, shape_k = ((L, e), (S, e)) if case == "unbatched" else ((L, n, e), (S, n, e))
    q, k, v = rng.standard_normal(shape_q), rng.standard_normal(shape_k), \
        rng.standard_normal(shape_k)
    kw = {}
    if case == "masks":
        kw["attn_mask"] = np.triu(np.ones((L, S), dtype=bool), 2)
        kw["key_padding_mask"] = np.array([[False] * 3 + [True], [False] * 4])
    extra = {}
    if case == "bias_kv":
        extra = {"bias_k": rng.standard_normal((1, 1, e)), "bias_v": rng.standard_normal(
            (1, 1, e))}
    sep = {}
    if case == "separate":
        sep = {"q_proj_weight": w_in[:e], "k_proj_weight": w_in[e:2 * e],
               "v_proj_weight": w_in[2 * e:]}

    def run(lib, conv, grad):
        ts = [conv(a) for a in (q, k, v, w_in, b_in, w_out, b_out)]
        for t in ts:
            grad(t)
        qt, kt, vt, wi, bi, wo, bo = ts
        bk = conv(extra["bias_k"]) if extra else None
        bv = conv(extra["bias_v"]) if extra else None
        seps = {name: conv(a) for name, a in sep.items()}
        masks = {name: conv(a) for name, a in kw.items()}
        out, weights = lib.multi_head_attention_forward(
            qt, kt, vt, e, h, None if sep else wi, bi, bk, bv, case == "bias_kv", 0.0, wo, bo,
            training=False, use_separate_proj_weight=bool(sep), **seps, **masks)
        return out, weights, ts

    out, wts, gs = run(F, ge.tensor, lambda t: setattr(t, "requires_grad", True))
    tout, twts, tts = run(tf, torch.tensor, lambda t: t.requires_grad_())
    _close(out, tout)
    _close(wts, twts)
    up = rng.standard_normal(out.shape)
    (out * ge.tensor(up)).sum().backward()
    (tout * torch.tensor(up)).sum().backward()
    for g, t in zip(gs, tts):
        if t.grad is not None:
            _close(g.grad, t.grad, 1e-9)
    with pytest.raises(ge.ShapeError, match="embedding dimension"):
        F.multi_head_attention_forward(ge.tensor(q), ge.tensor(k), ge.tensor(v), e + 1, h,
                                       ge.tensor(w_in), ge.tensor(b_in), None, None, False,
                                       0.0, ge.tensor(w_out), ge.tensor(b_out))


def test_the_modules_run_on_each_device(device, rng):
    asm = nn.AdaptiveLogSoftmaxWithLoss(6, 8, [2, 5], device=device)
    x = ge.tensor(rng.standard_normal((5, 6)).astype(np.float32), device=device)
    out, loss = asm(x, ge.tensor(np.array([0, 1, 3, 6, 7]), device=device))
    assert out.device == loss.device == x.device and out.dtype == np.float32
    np.testing.assert_allclose(np.exp(asm.log_prob(x).numpy()).sum(1), 1.0, rtol=1e-5)
    assert asm.predict(x).device == x.device
    bn = nn.SyncBatchNorm(6, device=device)
    assert bn(x).device == x.device


def _sync_bn_worker():
    """One rank of a real MPI world: its share of one batch through SyncBatchNorm, checked
    against torch's BatchNorm over the whole batch."""
    import gradengine.distributed as dist
    dist.init()
    r, n = dist.rank(), dist.world_size()
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal((2 * n, 3, 4)), rng.standard_normal((2 * n, 3, 4))
    mine = slice(2 * r, 2 * r + 2)
    ours = nn.SyncBatchNorm(3, dtype="float64")
    ref = torch.nn.BatchNorm1d(3).double()
    gx, rx = ge.tensor(x[mine], requires_grad=True), _t(x).requires_grad_()
    y, ry = ours(gx), ref(rx)
    _close(y, ry[mine])
    (y * ge.tensor(w[mine])).sum().backward()
    (ry * _t(w)).sum().backward()
    _close(gx.grad, rx.grad[mine], 1e-9)
    _close(dist.all_reduce(ours.weight.grad.clone(), "sum"), ref.weight.grad, 1e-9)
    _close(ours.running_var, ref.running_var)
    print("sync ok", r, flush=True)


@pytest.mark.mpi
def test_sync_batch_norm_over_a_real_two_rank_world():
    import os
    import subprocess
    import sys
    exe = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        pytest.skip("needs mpi4py")
    if not os.path.exists(exe):
        pytest.skip("needs mpiexec")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.path.join(root, "tests"),
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    res = subprocess.run([exe, "-n", "2", sys.executable, os.path.abspath(__file__),
                          "sync_bn"], capture_output=True, text=True, timeout=120, env=env,
                         cwd=root, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("sync ok") == 2


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["sync_bn"]:
        _sync_bn_worker()
