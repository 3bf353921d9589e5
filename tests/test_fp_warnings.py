"""No NumPy floating-point warning where PyTorch gives none: the ops that call BLAS, the
backward, and a ge.jit replay of either (pyproject turns every RuntimeWarning into an error).

OpenBLAS can leave the invalid flag set on finite operands (numpy#24067), so a matmul that
warns at all fails CI on some CPUs at random; inf and NaN operands make the same flag for
certain, which is what these tests use. Each result is compared with PyTorch's."""
import numpy as np
import pytest

import gradengine as ge

torch = pytest.importorskip("torch")

INF = np.float32(np.inf)


def _same(ours, theirs):
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-6, equal_nan=True)


CASES = {
    "matmul_1x1": (lambda m: m.matmul, [np.array([[0.0]], np.float32),
                                         np.array([[INF, 1.0]], np.float32)]),
    "matmul": (lambda m: m.matmul, [np.array([[INF, 1.0]], np.float32),
                                     np.array([[0.0], [1.0]], np.float32)]),
    "linear_1x1": (lambda m: m.nn.functional.linear,  # 0 * inf: NaN, as torch
                   [np.array([[INF]], np.float32), np.array([[0.0]], np.float32)]),
    "layer_norm": (lambda m: (lambda x: m.nn.functional.layer_norm(x, (3,))),
                   [np.array([[INF, 1.0, 2.0], [0.0, 1.0, 2.0]], np.float32)]),
    "einsum": (lambda m: (lambda a, b: m.einsum("ij,jk->ik", a, b)),
               [np.array([[INF, 1.0]], np.float32), np.array([[0.0], [1.0]], np.float32)]),
    "sdpa": (lambda m: m.nn.functional.scaled_dot_product_attention,
             [np.array([[[INF, 1.0]]], np.float32), np.ones((1, 2, 2), np.float32),
              np.ones((1, 2, 2), np.float32)]),
    "conv2d": (lambda m: m.nn.functional.conv2d,
               [np.array([[[[INF, 1.0], [1.0, 1.0]]]], np.float32),
                np.zeros((1, 1, 1, 1), np.float32)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_blas_ops_never_warn_and_match_torch(name):
    make, arrays = CASES[name]
    ours = make(ge)(*[ge.tensor(a) for a in arrays])
    theirs = make(torch)(*[torch.tensor(a) for a in arrays])
    _same(ours, theirs)


def _step_through_zero_times_inf():
    """relu's zero gradient times an inf: NaN made only in the backward."""
    x = ge.tensor(np.array([-1.0, 2.0], np.float32), requires_grad=True)
    c = ge.tensor(np.array([INF, 1.0], np.float32))

    def step():
        x.grad = None
        ge.relu(x * c).sum().backward()
        return x.grad
    return step


def test_backward_never_warns_eager_or_replayed():
    tx = torch.tensor([-1.0, 2.0], requires_grad=True)
    torch.relu(tx * torch.tensor([float("inf"), 1.0])).sum().backward()
    step = _step_through_zero_times_inf()
    _same(step(), tx.grad)
    jitted = ge.jit(_step_through_zero_times_inf())
    for _ in range(3):  # the capture, then replays
        _same(jitted(), tx.grad)


def test_a_forward_that_warns_eagerly_still_warns_replayed():
    """The replay keeps the eager ops' warnings where they have them (a plain multiply)."""
    a = ge.tensor(np.array([INF], np.float32))
    b = ge.tensor(np.array([0.0], np.float32))
    with pytest.warns(RuntimeWarning, match="invalid"):
        a * b
    jitted = ge.jit(lambda: a * b)
    for _ in range(3):
        with pytest.warns(RuntimeWarning, match="invalid"):
            jitted()
