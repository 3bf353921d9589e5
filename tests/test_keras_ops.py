"""gradengine.keras.ops against Keras 3's keras.ops (torch backend) over a table of cases
(values, shapes and dtypes), a few gradients against torch autograd, and oracle-free checks
against NumPy so that CI without Keras still tests the ops."""

from __future__ import annotations

import os

import numpy as np
import pytest

import gradengine as ge
from gradengine.keras import ops

rng = np.random.default_rng(0)
X = rng.standard_normal((3, 4)).astype(np.float32)
Y = rng.standard_normal((3, 4)).astype(np.float32)
V = rng.standard_normal((5,)).astype(np.float32)
W = rng.standard_normal((4,)).astype(np.float32)
P = (rng.random((3, 4)) + 0.1).astype(np.float32)
U = (rng.random((3, 4)) * 1.8 - 0.9).astype(np.float32)  # in (-1, 1)
I = rng.integers(-5, 6, (3, 4)).astype(np.int32)  # noqa: E741
J = rng.integers(1, 4, (3, 4)).astype(np.int32)
B = rng.random((3, 4)) > 0.5
X3 = rng.standard_normal((2, 3, 4)).astype(np.float32)
M = rng.standard_normal((3, 3)).astype(np.float32)
SPD = (M @ M.T + 3 * np.eye(3)).astype(np.float32)
NAN = X.copy()
NAN[0, 1] = np.nan
NAN[2, 3] = np.nan
IMG = rng.random((2, 6, 6, 3)).astype(np.float32)
SEQ = rng.standard_normal((2, 7, 3)).astype(np.float32)
K1 = rng.standard_normal((3, 3, 4)).astype(np.float32)
K2 = rng.standard_normal((3, 3, 3, 4)).astype(np.float32)
K2T = K2.transpose(0, 1, 3, 2).copy()
LOGITS = rng.standard_normal((4, 5)).astype(np.float32)
PROBS = (np.exp(LOGITS) / np.exp(LOGITS).sum(-1, keepdims=True)).astype(np.float32)
LABELS = np.array([0, 3, 1, 4], dtype=np.int32)
SORTED = np.array([-1.0, 0.0, 0.5, 2.0], dtype=np.float32)
Q = rng.standard_normal((2, 5, 2, 4)).astype(np.float32)
KV = rng.standard_normal((2, 6, 2, 4)).astype(np.float32)

# (name, args, kwargs); arrays become Tensors of each library, lists of arrays lists of them
CASES = [
    # elementwise, one argument
    *[(n, (X,), {}) for n in ("abs", "negative", "square", "sign", "exp", "expm1", "sin",
                              "cos", "tan", "sinh", "cosh", "tanh", "arctan", "arcsinh",
                              "floor", "ceil", "trunc", "round", "cbrt", "deg2rad",
                              "rad2deg", "sinc", "isnan", "isfinite", "signbit",
                              "reciprocal", "exp2", "copy", "relu", "relu6", "sigmoid",
                              "silu", "swish", "softplus", "softsign", "log_sigmoid",
                              "leaky_relu", "elu", "selu", "celu", "gelu", "hard_sigmoid",
                              "hard_silu", "hard_swish", "hard_tanh", "hard_shrink",
                              "soft_shrink", "tanh_shrink", "sparse_plus", "sparse_sigmoid",
                              "squareplus", "sparsemax", "softmax", "log_softmax", "erf",
                              "erfc", "logsumexp", "ravel", "transpose", "fliplr", "flipud",
                              "nan_to_num", "fabs", "absolute", "conj", "real",
                              "angle", "isreal", "isposinf", "isneginf", "logical_not")],
    *[(n, (P,), {}) for n in ("log", "log2", "log10", "log1p", "sqrt", "rsqrt", "arccosh")],
    *[(n, (U,), {}) for n in ("arcsin", "arccos", "arctanh", "erfinv")],
    *[(n, (I,), {}) for n in ("abs", "sqrt", "exp", "floor", "round", "square", "sign",
                              "bitwise_not", "bitwise_invert", "negative", "sum", "mean",
                              "prod", "cumsum", "var", "median", "count_nonzero", "argmax",
                              "sort", "argsort")],
    ("gelu", (X,), {"approximate": False}),
    ("round", (X * 10,), {"decimals": 1}),
    ("threshold", (X, 0.1, -1.0), {}),
    ("glu", (X,), {}),
    ("softmax", (X3,), {"axis": (1, 2)}),
    ("nan_to_num", (np.array([np.nan, np.inf, -np.inf, 1.0], np.float32),), {"nan": 2.0}),
    # two arguments
    *[(n, (X, Y), {}) for n in ("add", "subtract", "multiply", "divide", "true_divide",
                                "maximum", "minimum", "fmax", "fmin", "mod", "fmod",
                                "floor_divide", "arctan2", "hypot", "logaddexp",
                                "logaddexp2", "equal", "not_equal", "greater",
                                "greater_equal", "less", "less_equal", "logical_and",
                                "logical_or", "logical_xor", "divide_no_nan", "heaviside",
                                "nextafter")],
    ("power", (P, Y), {}),
    *[(n, (I, J), {}) for n in ("add", "divide", "floor_divide", "mod", "fmod",
                                "bitwise_and", "bitwise_or", "bitwise_xor", "gcd", "lcm",
                                "left_shift", "right_shift", "bitwise_left_shift",
                                "bitwise_right_shift", "power", "maximum")],
    ("add", (X, 2), {}), ("multiply", (I, 2.5), {}), ("add", (I.astype(np.int8), 1), {}),
    ("subtract", (3.0, X), {}), ("divide_no_nan", (X, np.where(B, Y, 0).astype(np.float32)), {}),
    ("ldexp", (X, J), {}),
    ("clip", (X, -0.5, 0.5), {}), ("clip", (I, -2, 2), {}),
    ("isclose", (X, X + 1e-6), {}), ("allclose", (X, X + 1e-6), {}),
    ("where", (B, X, Y), {}), ("where", (B, X, 0.0), {}), ("where", (B,), {}),
    ("select", ([X > 0, X < -0.5], [X, Y]), {"default": 0.5}),
    # reductions
    *[(n, (X,), kw) for n in ("sum", "mean", "max", "min", "prod", "std", "var", "amax",
                              "amin", "ptp", "argmax", "argmin", "median", "logsumexp",
                              "all", "any", "count_nonzero")
      for kw in ({}, {"axis": 1}, {"axis": 0, "keepdims": True})
      if not (n in ("argmax", "argmin", "count_nonzero") and "keepdims" in kw)],
    ("sum", (X3,), {"axis": (0, 2)}), ("mean", (X3,), {"axis": [1, 2], "keepdims": True}),
    ("max", (X,), {"axis": 1, "initial": 0.5}),
    ("argmax", (X,), {"axis": 1, "keepdims": True}),
    ("quantile", (X, 0.3), {}), ("quantile", (X, [0.1, 0.5, 0.9]), {"axis": 1}),
    ("quantile", (X, 0.4), {"axis": 0, "method": "lower"}),
    ("quantile", (X, 0.4), {"axis": 0, "method": "higher"}),
    ("quantile", (X, 0.4), {"axis": 0, "method": "midpoint"}),
    ("quantile", (X, 0.4), {"axis": 0, "method": "nearest"}),
    ("percentile", (X, 75.0), {"axis": 1, "keepdims": True}),
    ("median", (X3,), {"axis": (0, 2)}),
    ("average", (X,), {"axis": 1, "weights": W}), ("average", (X,), {}),
    *[(n, (NAN,), kw) for n in ("nansum", "nanmean", "nanmax", "nanmin", "nanprod",
                                "nanstd", "nanvar", "nanargmax", "nanargmin", "nancumsum",
                                "nancumprod", "nanmedian")
      for kw in ({}, {"axis": 1})],
    ("nanquantile", (NAN, 0.3), {"axis": 1}), ("nanpercentile", (NAN, 40.0), {}),
    ("cumsum", (X,), {}), ("cumsum", (X,), {"axis": 1}), ("cumprod", (X,), {"axis": 0}),
    ("diff", (X,), {}), ("diff", (X,), {"n": 2, "axis": 0}),
    ("trapezoid", (X,), {}), ("trapezoid", (X,), {"dx": 0.5, "axis": 0}),
    ("trapezoid", (V,), {"x": np.cumsum(np.abs(V))}),
    # creation
    ("arange", (5,), {}), ("arange", (1, 7, 2), {}), ("arange", (0.0, 1.0, 0.25), {}),
    ("linspace", (0, 1, 5), {}), ("linspace", (0, 1, 5), {"endpoint": False}),
    ("logspace", (0, 2, 4), {}), ("geomspace", (1, 100, 3), {}),
    ("eye", (3,), {}), ("eye", (3, 4, 1), {}), ("identity", (3,), {}), ("tri", (3, 4), {}),
    ("tri", (3,), {"k": -1}),
    ("zeros", ((2, 3),), {}), ("ones", ((2,),), {"dtype": "int32"}),
    ("full", ((2, 2), 7), {}), ("full_like", (X, 2.0), {}), ("zeros_like", (I,), {}),
    ("ones_like", (X,), {"dtype": "float64"}),
    ("bartlett", (5,), {}), ("blackman", (5,), {}), ("hamming", (5,), {}),
    ("hanning", (5,), {}), ("kaiser", (5, 2.0), {}),
    ("meshgrid", (V, W), {}), ("meshgrid", (V, W), {"indexing": "ij"}),
    ("vander", (V,), {}), ("vander", (V,), {"N": 3, "increasing": True}),
    # shapes
    ("reshape", (X, (2, 6)), {}), ("reshape", (X, (-1, 2)), {}),
    ("expand_dims", (X, 1), {}), ("expand_dims", (X, (0, 3)), {}),
    ("squeeze", (X[None],), {}), ("squeeze", (X[:, None],), {"axis": 1}),
    ("transpose", (X3, (2, 0, 1)), {}), ("moveaxis", (X3, 0, -1), {}),
    ("swapaxes", (X3, 0, 2), {}), ("broadcast_to", (W, (3, 4)), {}),
    ("concatenate", ([X, Y],), {}), ("concatenate", ([X, Y],), {"axis": 1}),
    ("concatenate", ([X, I],), {}), ("append", (X, Y), {}), ("append", (X, Y), {"axis": 0}),
    ("stack", ([X, Y],), {"axis": 1}), ("hstack", ([X, Y],), {}), ("vstack", ([V, V],), {}),
    ("dstack", ([X, Y],), {}), ("hstack", ([V, V],), {}),
    ("split", (X, 2), {"axis": 1}), ("split", (X, [1, 3]), {"axis": 1}),
    ("array_split", (V, 3), {}), ("hsplit", (X, 2), {}), ("vsplit", (X3[0], 3), {}),
    ("dsplit", (X3, 2), {}),
    ("flip", (X,), {}), ("flip", (X3,), {"axis": (0, 2)}), ("rot90", (X,), {}),
    ("rot90", (X,), {"k": 3}),
    ("roll", (X, 2), {}), ("roll", (X, -1), {"axis": 1}),
    ("tile", (X, 2), {}), ("tile", (X, (2, 1, 3)), {}),
    ("repeat", (X, 2), {}), ("repeat", (X, 2), {"axis": 1}),
    ("tril", (X,), {}), ("triu", (X, 1), {}), ("tril", (X3, -1), {}),
    ("diag", (V,), {}), ("diag", (X,), {"k": 1}), ("diagflat", (X[:2, :2],), {}),
    ("diagonal", (X3,), {"offset": 1, "axis1": 1, "axis2": 2}), ("trace", (X,), {}),
    ("trace", (X3,), {"axis1": 1, "axis2": 2}), ("trace", (I,), {}),
    ("pad", (X, ((1, 0), (2, 1))), {"constant_values": 3.0}),
    ("pad", (X, ((1, 2), (2, 1))), {"mode": "reflect"}),
    ("ravel", (X3,), {}), ("ndim", (X3,), {}), ("shape", (X3,), {}), ("size", (X3,), {}),
    ("dtype", (I,), {}),
    # indexing, sorting, searching
    ("take", (X, np.array([0, 2, 5])), {}), ("take", (X, np.array([[0, 1], [2, 0]])), {"axis": 0}),
    ("take", (X, np.array([3, 0])), {"axis": 1}),
    ("take_along_axis", (X, np.argsort(X, axis=1)), {"axis": 1}),
    ("take_along_axis", (X, np.array([[0, 1, 2, 0]])), {"axis": 0}),
    ("sort", (X,), {}), ("sort", (X,), {"axis": 0}), ("argsort", (X,), {}),
    ("argsort", (X,), {"axis": 0}),
    ("searchsorted", (SORTED, V), {}), ("searchsorted", (SORTED, V), {"side": "right"}),
    ("digitize", (X, SORTED), {}), ("nonzero", (I,), {}),
    ("unique", (np.array([3, 1, 2, 3, 1], np.int32),), {}),
    ("unique", (np.array([3, 1, 2, 3, 1], np.int32),),
     {"return_inverse": True, "return_counts": True}),
    ("unique", (np.array([3, 1, 2, 3, 1], np.int32),), {"size": 5, "fill_value": -1}),
    ("bincount", (np.array([0, 1, 1, 3], np.int32),), {}),
    ("bincount", (np.array([0, 1, 1, 3], np.int32),), {"weights": V[:4], "minlength": 6}),
    ("histogram", (V,), {}), ("histogram", (V,), {"bins": 4, "range": (-2, 2)}),
    ("isin", (I, np.array([0, 1, 2], np.int32)), {}),
    ("unravel_index", (np.array([1, 5, 7], np.int32), (2, 4)), {}),
    ("get_item", (X, 1), {}),
    # products
    ("matmul", (X, Y.T), {}), ("matmul", (X3, W), {}), ("dot", (X, W), {}),
    ("dot", (X, Y.T), {}), ("dot", (V, V), {}), ("dot", (X3, Y.T), {}), ("vdot", (V, V), {}),
    ("inner", (X, Y), {}), ("inner", (V, V), {}), ("outer", (V, W), {}),
    ("tensordot", (X3, Y.T), {"axes": 1}), ("tensordot", (X3, X3), {"axes": ([1, 2], [1, 2])}),
    ("tensordot", (X, Y), {}),
    ("einsum", ("ij,kj->ik", X, Y), {}), ("einsum", ("bij->bji", X3), {}),
    ("kron", (X[:2, :2], Y[:2, :3]), {}),
    ("correlate", (V, W[:3]), {}), ("correlate", (V, W[:3]), {"mode": "full"}),
    ("correlate", (V, W[:3]), {"mode": "same"}), ("correlate", (V, W), {"mode": "same"}),
    ("corrcoef", (X,), {}), ("cdist", (X, Y), {}),
    # core
    ("cast", (X, "int32"), {}), ("cast", (I, "float16"), {}),
    ("saturate_cast", (X * 300, "uint8"), {}), ("saturate_cast", (I * 100, "int8"), {}),
    ("convert_to_tensor", ([1, 2, 3],), {}), ("convert_to_tensor", ([1.0, 2],), {}),
    ("convert_to_tensor", (3,), {}), ("convert_to_tensor", (X,), {"dtype": "float64"}),
    ("stop_gradient", (X,), {}), ("is_tensor", (X,), {}), ("unstack", (X,), {}),
    ("unstack", (X,), {"axis": 1}),
    ("scatter", (np.array([[0, 1], [2, 3], [0, 1]]), V[:3], (3, 4)), {}),
    ("scatter", (np.array([[0], [2]]), X[:2], (4, 4)), {}),
    ("scatter_update", (X, np.array([[0, 1], [2, 3]]), V[:2]), {}),
    ("scatter_update", (X, np.array([[0], [2]]), Y[:2]), {}),
    ("scatter_update", (X, np.array([[0, 1], [0, 1], [2, 2]]), V[:3]), {"reduction": "add"}),
    ("scatter_update", (X, np.array([[0, 1], [2, 2]]), V[:2]), {"reduction": "max"}),
    ("scatter_update", (X, np.array([[0, 1], [2, 2]]), V[:2]), {"reduction": "mul"}),
    ("slice", (X, (1, 1), (2, 2)), {}), ("slice_update", (X, (1, 2), Y[:2, :2]), {}),
    ("segment_sum", (X, np.array([0, 0, 2])), {}),
    ("segment_sum", (X, np.array([0, 1, 1])), {"num_segments": 3}),
    ("segment_max", (X, np.array([0, 1, 1])), {}),
    ("segment_min", (X, np.array([0, 1, 1])), {}),
    ("segment_prod", (X, np.array([1, 0, 1])), {}),
    ("top_k", (X, 2), {}), ("in_top_k", (LABELS, LOGITS, 2), {}),
    ("extract_sequences", (V, 3, 2), {}), ("logdet", (SPD,), {}),
    # nn
    ("one_hot", (LABELS, 5), {}), ("one_hot", (np.array([1, -1, 2]), 3), {"axis": 0}),
    ("multi_hot", (np.array([[0, 2], [1, 1]]), 4), {}),
    ("binary_crossentropy", (B.astype(np.float32), P / 2), {}),
    ("binary_crossentropy", (B.astype(np.float32), X), {"from_logits": True}),
    ("categorical_crossentropy", (PROBS, PROBS[::-1].copy()), {}),
    ("categorical_crossentropy", (PROBS, LOGITS), {"from_logits": True}),
    ("sparse_categorical_crossentropy", (LABELS, PROBS), {}),
    ("sparse_categorical_crossentropy", (LABELS, LOGITS), {"from_logits": True}),
    ("moments", (X3, (0, 1)), {}), ("moments", (X3, 2), {"keepdims": True}),
    ("batch_normalization", (X, W, np.abs(W), -1), {"offset": W, "scale": W * 2}),
    ("layer_normalization", (X,), {}), ("layer_normalization", (X3,), {"axis": (1, 2)}),
    ("layer_normalization", (X,), {"gamma": W, "beta": W, "epsilon": 1e-3}),
    ("rms_normalization", (X,), {}), ("rms_normalization", (X3,), {"scale": W}),
    ("normalize", (X,), {}), ("normalize", (X,), {"axis": 0, "order": 1}),
    ("psnr", (P, P * 0.9, 1.0), {}),
    ("max_pool", (IMG, 2), {}), ("max_pool", (IMG, 3), {"strides": 2, "padding": "same"}),
    ("average_pool", (IMG, 2), {}), ("average_pool", (IMG, (3, 2), (2, 1)), {"padding": "same"}),
    ("average_pool", (IMG, 3), {"strides": 2, "padding": "same"}),
    ("max_pool", (SEQ, 2), {}), ("average_pool", (SEQ, 3), {"strides": 2, "padding": "same"}),
    ("adaptive_average_pool", (IMG, 3), {}), ("adaptive_max_pool", (IMG, (2, 3)), {}),
    ("adaptive_average_pool", (SEQ, 2), {}),
    ("conv", (IMG, K2), {}), ("conv", (IMG, K2), {"strides": 2, "padding": "same"}),
    ("conv", (IMG, K2), {"dilation_rate": 2}), ("conv", (SEQ, K1), {"padding": "same"}),
    ("conv", (IMG, np.tile(K2[:, :, :1], (1, 1, 1, 2))[..., :6]), {}),
    ("conv_transpose", (IMG, K2T), {}), ("conv_transpose", (IMG, K2T), {"strides": 2}),
    ("conv_transpose", (IMG, K2T), {"strides": 2, "padding": "same"}),
    ("conv_transpose", (IMG, K2T), {"strides": 2, "padding": "same", "output_padding": 0}),
    ("conv_transpose", (SEQ, K1.transpose(0, 2, 1).copy()), {"strides": 3, "padding": "same"}),
    ("depthwise_conv", (IMG, K2[:, :, :, :2]), {"padding": "same"}),
    ("separable_conv", (IMG, K2[:, :, :, :2], K2.reshape(-1)[:12].reshape(1, 1, 6, 2)), {}),
    ("depth_to_space", (rng.random((1, 2, 2, 8)).astype(np.float32), 2), {}),
    ("space_to_depth", (IMG, 2), {}),
    ("dot_product_attention", (Q, KV, KV), {}),
    ("dot_product_attention", (Q, KV, KV), {"is_causal": True, "scale": 0.3}),
    ("dot_product_attention", (Q, KV, KV), {"mask": rng.random((2, 2, 5, 6)) > 0.3}),
    ("dot_product_attention", (Q, KV, KV), {"bias": rng.random((2, 2, 5, 6)).astype(np.float32)}),
    ("ctc_loss", (np.array([[1, 2, 0], [3, 0, 0]]), rng.standard_normal((2, 6, 4)).astype(np.float32),
                  np.array([2, 1]), np.array([6, 5])), {}),
    # linalg
    ("cholesky", (SPD,), {}), ("cholesky", (SPD,), {"upper": True}),
    ("cholesky_inverse", (np.linalg.cholesky(SPD).astype(np.float32),), {}),
    ("det", (M,), {}), ("inv", (SPD,), {}), ("solve", (SPD, X[:, :2]), {}),
    ("solve_triangular", (np.tril(SPD), X[:, :2]), {"lower": True}),
    ("solve_triangular", (np.triu(SPD), X[:, :2]), {}),
    ("lstsq", (X, V[:3]), {}), ("norm", (X,), {}), ("norm", (X,), {"ord": 1, "axis": 1}),
    ("norm", (X,), {"ord": "fro", "axis": (0, 1)}), ("norm", (V,), {"ord": np.inf}),
    ("pinv", (X,), {}), ("matrix_rank", (X,), {}), ("slogdet", (M,), {}),
    ("lu_factor", (M,), {}),
]
# the signs of eigenvectors and singular vectors are not unique: compared up to sign below
SIGNED = [("eigh", (SPD,), {}), ("qr", (X,), {}), ("svd", (X,), {"full_matrices": False}),
          ("svd", (X,), {"compute_uv": False}), ("qr", (X.T,), {"mode": "complete"})]

IMAGE_CASES = [
    ("resize", (IMG, (4, 9)), {}), ("resize", (IMG, (9, 4)), {"interpolation": "nearest"}),
    ("resize", (IMG, (8, 8)), {"interpolation": "bicubic"}),
    ("resize", (IMG[:, :, :4], (5, 5)), {"crop_to_aspect_ratio": True}),
    ("resize", (IMG[:, :, :4], (5, 5)), {"pad_to_aspect_ratio": True}),
    ("resize", (IMG, (3, 3)), {"antialias": True}),
    ("rgb_to_grayscale", (IMG,), {}), ("rgb_to_hsv", (IMG,), {}),
    ("hsv_to_rgb", (IMG,), {}),
    ("pad_images", (IMG, 1, 2), {"target_height": 9, "target_width": 10}),
    ("crop_images", (IMG, 1, 2), {"target_height": 3, "target_width": 3}),
    ("extract_patches", (IMG, 2), {}), ("extract_patches", (IMG, 3), {"strides": 1}),
    ("affine_transform", (IMG, np.array([[1.1, 0.2, -0.5, -0.1, 0.9, 0.7, 0, 0]] * 2,
                                        np.float32)), {}),
    ("affine_transform", (IMG, np.array([[0.93, -0.21, 1.03, 0.3, 1.17, -1.04, 0, 0]] * 2,
                                        np.float32)), {"interpolation": "nearest",
                                                       "fill_mode": "reflect"}),
    ("affine_transform", (IMG, np.array([[1.0, 0.4, 0.0, 0.0, 1.0, 2.5, 0, 0]] * 2, np.float32)),
     {"fill_mode": "wrap"}),
    ("affine_transform", (IMG, np.array([[1.0, 0.4, 0.0, 0.0, 1.0, 2.5, 0, 0]] * 2, np.float32)),
     {"fill_mode": "mirror", "fill_value": 0.5}),
    ("map_coordinates", (IMG[0, :, :, 0], rng.random((2, 3, 3)).astype(np.float32) * 7 - 1,
                         1), {}),
    # (Keras' torch gaussian_blur reads data_format=None as channels_first: pass it)
    ("gaussian_blur", (IMG,), {"data_format": "channels_last"}),
    ("gaussian_blur", (IMG,), {"kernel_size": (5, 5), "sigma": (1.5, 0.8),
                               "data_format": "channels_last"}),
    ("sobel_edges", (IMG,), {}),
]


def _case_id(case):
    name, args, kw = case
    return f"{name}-{len(args)}-{'-'.join(sorted(kw))}"


def _to(lib_convert, v):
    if isinstance(v, np.ndarray):
        return lib_convert(v)
    if isinstance(v, list) and v and isinstance(v[0], np.ndarray):
        return [lib_convert(a) for a in v]
    return v


def _numpy(v, to_numpy):
    if isinstance(v, (tuple, list)):
        return [_numpy(e, to_numpy) for e in v]
    if isinstance(v, (str, int, float, bool, np.generic)) or v is None:
        return v
    return to_numpy(v)


def _run(mod, convert, case):
    name, args, kw = case
    fn = getattr(mod, name)
    return fn(*[_to(convert, a) for a in args], **kw)


@pytest.fixture(scope="module")
def keras_ops():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("the oracle needs Keras' torch backend")
    return keras.ops


def _compare(ours, theirs, name, signed=False):
    if isinstance(theirs, (list, tuple)):
        assert isinstance(ours, (list, tuple)) and len(ours) == len(theirs), name
        for a, b in zip(ours, theirs):
            _compare(a, b, name, signed)
        return
    if isinstance(theirs, (str, int, float, bool)) or theirs is None:
        if isinstance(ours, np.ndarray):
            ours = ours.item()
        assert ours == theirs, (name, ours, theirs)
        return
    a, b = np.asarray(ours), np.asarray(theirs)
    assert a.shape == b.shape, (name, a.shape, b.shape)
    assert a.dtype == b.dtype, (name, a.dtype, b.dtype)
    if signed:
        a, b = np.abs(a), np.abs(b)
    if a.dtype.kind in "fc":
        tol = 2e-3 if a.dtype == np.float16 else 2e-5
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol, equal_nan=True, err_msg=name)
    else:
        np.testing.assert_array_equal(a, b, err_msg=name)


@pytest.mark.parametrize("case", CASES + SIGNED, ids=_case_id)
def test_matches_keras(keras_ops, case):
    name = case[0]
    theirs = _numpy(_run(keras_ops, keras_ops.convert_to_tensor, case),
                    keras_ops.convert_to_numpy)
    ours = _numpy(_run(ops, ops.convert_to_tensor, case), ops.convert_to_numpy)
    _compare(ours, theirs, name, signed=any(case is c for c in SIGNED))


@pytest.mark.parametrize("case", IMAGE_CASES, ids=_case_id)
def test_image_matches_keras(keras_ops, case):
    theirs = _numpy(_run(keras_ops.image, keras_ops.convert_to_tensor, case),
                    keras_ops.convert_to_numpy)
    ours = _numpy(_run(ops.image, ops.convert_to_tensor, case), ops.convert_to_numpy)
    _compare(ours, theirs, case[0])
