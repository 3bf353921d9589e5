"""gradengine.keras.ops against Keras 3's keras.ops (torch backend) over a table of cases
(values, shapes and dtypes), a few gradients against torch autograd, and oracle-free checks
against NumPy so that CI without Keras still tests the ops."""

from __future__ import annotations

import math
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
    ("rearrange", (X3, "b h w -> b (w h)"), {}),
    ("rearrange", (X3, "b h (w c) -> c b h w"), {"c": 2}),
    ("rearrange", (X3, "b (h1 h2) w -> h2 w (b h1)"), {"h1": 3}),
    ("i0", (X * 3,), {}), ("i0", (I,), {}),
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
    ("ctc_loss", (np.array([[1, 2, 0], [3, 0, 0]]),
     rng.standard_normal((2, 6, 4)).astype(np.float32),
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
    ("ssim", (np.tile(IMG, (1, 2, 2, 1)), np.tile(IMG[::-1], (1, 2, 2, 1)) * 0.5 + 0.2), {}),
    ("ssim", (np.tile(IMG[0], (2, 3, 1)), np.tile(IMG[1], (2, 3, 1))),
     {"max_val": 2.0, "filter_size": 5, "filter_sigma": 1.0}),
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


# ---------------------------------------------------------------- control flow, both libraries
def _flow(o):
    """The same program written against either library's ``ops``."""
    x = o.convert_to_tensor(X)
    out = {}
    out["cond"] = o.cond(o.sum(x) > 0, lambda: x * 2, lambda: x - 1)
    out["switch"] = o.switch(1, [lambda v: v + 1, lambda v: v * 3], x)
    out["fori"] = o.fori_loop(0, 4, lambda i, v: v * 0.5 + i, x)
    out["while"] = o.while_loop(lambda a, b: o.sum(a) < 50.0, lambda a, b: (a * 2 + 1, b + 1),
                                (o.abs(x), o.convert_to_tensor(0)))
    out["while_max"] = o.while_loop(lambda v: True, lambda v: v + 1.0, x,
                                    maximum_iterations=3)
    out["scan"] = o.scan(lambda c, e: (c + e, c * e), o.zeros((4,)), x)
    out["scan_rev"] = o.scan(lambda c, e: (c * 0.5 + e, c), o.ones((4,)), x, reverse=True)
    out["scan_len"] = o.scan(lambda c, e: (c + 1.0, c * 2.0), o.zeros((2,)), None, length=3)
    out["assoc"] = o.associative_scan(lambda a, b: a + b, x, axis=1)
    out["assoc_rev"] = o.associative_scan(lambda a, b: o.maximum(a, b), x, reverse=True)
    out["map"] = o.map(lambda r: o.sum(r * r), x)
    out["vmap"] = o.vectorized_map(lambda r: o.flip(r, 0) * 2.0, x)
    out["map_tuple"] = o.map(lambda t: t[0] + t[1], (x, x * 2))
    return out


def test_control_flow_matches_keras(keras_ops):
    theirs = _flow(keras_ops)
    ours = _flow(ops)
    for k in theirs:
        _compare(_numpy(ours[k], ops.convert_to_numpy),
                 _numpy(theirs[k], keras_ops.convert_to_numpy), k)


def _custom(o):
    @o.custom_gradient
    def log1pexp(x):
        e = o.exp(x)

        def grad(*args, upstream=None):
            return o.multiply(upstream, 1.0 - 1.0 / (1.0 + e))
        return o.log(1 + e), grad
    return log1pexp


def test_custom_gradient_matches_torch_autograd(keras_ops):
    import torch
    tx = torch.tensor(X, requires_grad=True)
    y = _custom(keras_ops)(tx)
    (y * torch.tensor(Y)).sum().backward()
    gx = ge.tensor(X, requires_grad=True)
    out = _custom(ops)(gx)
    (g,) = ge.grad((out * ge.tensor(Y)).sum(), [gx])
    np.testing.assert_allclose(out.numpy(), y.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(g.numpy(), tx.grad.numpy(), rtol=1e-6)


def test_jvp_matches_keras(keras_ops):
    def f(o):
        return lambda a, b: o.sum(o.sin(a) * b, axis=0)
    prim, tang = (X, Y), (Y, X)
    theirs = keras_ops.linalg.jvp(f(keras_ops), tuple(keras_ops.convert_to_tensor(v)
                                                     for v in prim),
                                  tuple(keras_ops.convert_to_tensor(v) for v in tang))
    ours = ops.linalg.jvp(f(ops), tuple(ge.tensor(v) for v in prim),
                          tuple(ge.tensor(v) for v in tang))
    _compare(_numpy(ours, ops.convert_to_numpy),
             _numpy(theirs, keras_ops.convert_to_numpy), "jvp")


# ---------------------------------------------------------------- gradients vs torch
GRAD_CASES = [
    ("quantile", (X, 0.3), {"axis": 1}), ("median", (X3,), {"axis": (0, 2)}),
    ("take_along_axis", (X, np.argsort(X, axis=1)), {"axis": 1}),
    ("pad", (X, ((1, 2), (2, 1))), {"mode": "reflect"}),
    ("conv", (IMG, K2), {"strides": 2, "padding": "same"}),
    ("conv_transpose", (IMG, K2T), {"strides": 2, "padding": "same"}),
    ("depthwise_conv", (IMG, K2[:, :, :, :2]), {"padding": "same"}),
    ("average_pool", (IMG, 3), {"strides": 2, "padding": "same"}),
    ("max_pool", (IMG, 3), {"strides": 2, "padding": "same"}),
    ("segment_max", (X, np.array([0, 1, 1])), {}),
    ("scatter_update", (X, np.array([[0, 1], [2, 3]]), V[:2]), {}),
    ("slice_update", (X, (1, 2), Y[:2, :2]), {}),
    ("layer_normalization", (X,), {"gamma": W, "beta": W}),
    ("rms_normalization", (X,), {"scale": W}),
    ("normalize", (X,), {}), ("erfinv", (U,), {}), ("cdist", (X, Y), {}),
    ("dot_product_attention", (Q, KV, KV), {"is_causal": True}),
    ("categorical_crossentropy", (PROBS, LOGITS), {"from_logits": True}),
    ("sparse_categorical_crossentropy", (LABELS, PROBS), {}),
    ("binary_crossentropy", (B.astype(np.float32), P / 2), {}),
    ("logsumexp", (X,), {"axis": 1}), ("nanmean", (NAN,), {"axis": 1}),
    ("sparsemax", (X,), {}), ("cumprod", (X,), {"axis": 1}), ("trapezoid", (X,), {}),
    ("einsum", ("ij,kj->ik", X, Y), {}), ("tensordot", (X3, Y.T), {"axes": 1}),
    ("kron", (X[:2, :2], Y[:2, :3]), {}), ("correlate", (V, W[:3]), {"mode": "same"}),
    ("psnr", (P, P * 0.9, 1.0), {}), ("moments", (X3, (0, 1)), {}),
]
_FLOATS = (np.float32,)


def _grad_inputs(args):
    return [i for i, a in enumerate(args) if isinstance(a, np.ndarray) and a.dtype in _FLOATS]


@pytest.mark.parametrize("case", GRAD_CASES, ids=_case_id)
def test_gradients_match_torch_autograd(keras_ops, case):
    import torch
    name, args, kw = case
    idx = _grad_inputs(args)
    t_args = [torch.tensor(a, requires_grad=i in idx) if isinstance(a, np.ndarray) else a
              for i, a in enumerate(args)]
    g_args = [ge.tensor(a, requires_grad=i in idx) if isinstance(a, np.ndarray) else a
              for i, a in enumerate(args)]
    t_out = getattr(keras_ops, name)(*t_args, **kw)
    g_out = getattr(ops, name)(*g_args, **kw)
    t_out = t_out if isinstance(t_out, (tuple, list)) else (t_out,)
    g_out = g_out if isinstance(g_out, (tuple, list)) else (g_out,)
    weights = [rng.standard_normal(tuple(o.shape)).astype(np.float32) for o in t_out]
    t_loss = sum((o * torch.tensor(w)).sum() for o, w in zip(t_out, weights))
    g_loss = sum((o * ge.tensor(w)).sum() for o, w in zip(g_out, weights))
    t_grads = torch.autograd.grad(t_loss, [t_args[i] for i in idx], allow_unused=True)
    g_grads = ge.grad(g_loss, [g_args[i] for i in idx])
    for tg, gg in zip(t_grads, g_grads):
        want = np.zeros_like(args[idx[0]]) if tg is None else tg.numpy()
        np.testing.assert_allclose(gg.numpy(), want, rtol=2e-4, atol=2e-5, err_msg=name)


@pytest.mark.parametrize("name,fn,args", [
    ("quantile", lambda x: ops.quantile(x, [0.2, 0.7], axis=0), (X,)),
    ("conv_same", lambda x, k: ops.conv(x, k, 2, "same"), (IMG[:1, :5, :5], K2)),
    ("conv_transpose", lambda x, k: ops.conv_transpose(x, k, 2, "same"),
     (IMG[:1, :3, :3], K2T)),
    ("segment_min", lambda x: ops.segment_min(x, np.array([1, 0, 1])), (X,)),
    ("scatter", lambda v: ops.scatter(np.array([[0, 1], [2, 3], [0, 1]]), v, (3, 4)),
     (V[:3],)),
    ("slice_update", lambda x, u: ops.slice_update(x, (1, 1), u), (X, Y[:2, :2])),
    ("erfinv", ops.erfinv, (U,)), ("cbrt", ops.cbrt, (P,)), ("i0", ops.i0, (X * 4,)),
    ("sinc", ops.sinc, (X,)),
    ("map_coordinates", lambda x: ops.image.map_coordinates(
        x, np.array([[[0.3, 2.6]], [[1.2, 3.9]]]), 1), (IMG[0, :, :, 0],)),
    ("resize_aa", lambda x: ops.image.resize(x, (3, 4), antialias=True), (IMG[:1],)),
    ("rgb_to_hsv", ops.image.rgb_to_hsv, (IMG[:1, :2, :2] * 0.8 + 0.1,)),
    ("batch_norm", lambda x, g: ops.batch_normalization(x, W, np.abs(W), -1, scale=g),
     (X, W)),
    ("attention", lambda q, k: ops.dot_product_attention(q, k, k), (Q[:1], KV[:1])),
    ("nanvar", lambda x: ops.nanvar(x, axis=1), (NAN,)),
    ("lstsq", lambda a, b: ops.lstsq(a, b), (X.T.copy(), W)),
])
def test_gradcheck_float64(name, fn, args):
    """Composites' gradients against float64 finite differences (no oracle needed)."""
    inputs = tuple(ge.tensor(a.astype(np.float64), requires_grad=True) for a in args)
    assert ge.gradcheck(fn, inputs)


# ---------------------------------------------------------------- NumPy, no oracle needed
def _np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


NUMPY_CASES = [
    ("add", (X, Y), {}, np.add), ("divide", (I, J), {}, lambda a, b: (a / b).astype("f4")),
    ("mod", (I, J), {}, np.mod), ("fmod", (I, J), {}, np.fmod),
    ("floor_divide", (X, Y), {}, np.floor_divide), ("power", (P, Y), {}, np.power),
    ("exp", (X,), {}, np.exp), ("log1p", (P,), {}, np.log1p), ("arctan2", (X, Y), {}, np.arctan2),
    ("cbrt", (X,), {}, np.cbrt), ("sinc", (X,), {}, np.sinc), ("hypot", (X, Y), {}, np.hypot),
    ("logaddexp", (X, Y), {}, np.logaddexp), ("fmax", (NAN, X), {}, np.fmax),
    ("gcd", (I, J), {}, np.gcd), ("lcm", (I, J), {}, np.lcm),
    ("bitwise_xor", (I, J), {}, np.bitwise_xor), ("left_shift", (J, J), {}, np.left_shift),
    ("isclose", (X, X + 1e-6), {}, np.isclose), ("signbit", (X,), {}, np.signbit),
    ("sum", (X,), {"axis": 1}, lambda x, axis: x.sum(axis)),
    ("mean", (X3,), {"axis": (0, 2)}, lambda x, axis: x.mean(axis)),
    ("std", (X,), {"axis": 0}, lambda x, axis: x.std(axis)),
    ("var", (X,), {}, np.var), ("prod", (X,), {"axis": 1}, lambda x, axis: x.prod(axis)),
    ("max", (X,), {"axis": 1, "keepdims": True},
     lambda x, axis, keepdims: x.max(axis, keepdims=True)),
    ("ptp", (X,), {"axis": 1}, lambda x, axis: np.ptp(x, axis)),
    ("median", (X,), {"axis": 1}, lambda x, axis: np.median(x, axis)),
    ("median", (X3,), {"axis": (0, 2)}, lambda x, axis: np.median(x, axis)),
    ("quantile", (X, [0.1, 0.8]), {"axis": 0}, lambda x, q, axis: np.quantile(x, q, axis=0)),
    ("percentile", (X, 30.0), {"method": "nearest"},
     lambda x, q, method: np.percentile(x, q, method=method)),
    ("nanmean", (NAN,), {"axis": 1}, lambda x, axis: np.nanmean(x, axis)),
    ("nanstd", (NAN,), {}, np.nanstd), ("nanmax", (NAN,), {"axis": 0},
     lambda x, axis: np.nanmax(x, axis)),
    ("nanmedian", (NAN,), {"axis": 1}, lambda x, axis: np.nanmedian(x, axis)),
    ("nanquantile", (NAN, 0.3), {"axis": 0}, lambda x, q, axis: np.nanquantile(x, q, axis=axis)),
    ("nanargmin", (NAN,), {"axis": 1}, lambda x, axis: np.nanargmin(x, axis)),
    ("cumsum", (X,), {"axis": 1}, lambda x, axis: np.cumsum(x, axis)),
    ("cumprod", (X,), {}, np.cumprod), ("diff", (X,), {"n": 2}, lambda x, n: np.diff(x, n)),
    ("trapezoid", (X,), {"dx": 0.5}, lambda x, dx: np.trapezoid(x, dx=dx)),
    ("average", (X,), {"axis": 1, "weights": W},
     lambda x, axis, weights: np.average(x, 1, weights)),
    ("pad", (X, 1), {}, np.pad),
    ("pad", (X, ((1, 2), (2, 1))), {"mode": "symmetric"},
     lambda x, w, mode: np.pad(x, w, mode=mode)),
    ("pad", (X, ((1, 2), (3, 1))), {"mode": "edge"}, lambda x, w, mode: np.pad(x, w, mode=mode)),
    ("pad", (X, ((1, 2), (2, 5))), {"mode": "wrap"}, lambda x, w, mode: np.pad(x, w, mode=mode)),
    ("pad", (X, ((2, 2), (3, 1))), {"mode": "reflect"},
     lambda x, w, mode: np.pad(x, w, mode=mode)),
    ("take", (X, np.array([0, 2, -1])), {}, np.take),
    ("take", (X, np.array([[-1, 1]])), {"axis": 1}, lambda x, i, axis: np.take(x, i, axis=1)),
    ("take_along_axis", (X, np.argsort(X, 0)), {"axis": 0},
     lambda x, i, axis: np.take_along_axis(x, i, 0)),
    ("repeat", (V, [1, 0, 2, 1, 3]), {"axis": 0}, lambda x, r, axis: np.repeat(x, r, 0)),
    ("tile", (X, (2, 1, 2)), {}, np.tile), ("roll", (X, 3), {}, np.roll),
    ("roll", (X3, -1), {"axis": 2}, lambda x, s, axis: np.roll(x, s, axis)),
    ("vdot", (X, Y), {}, np.vdot), ("dot", (X3, Y.T), {}, np.dot), ("inner", (X3, Y), {}, np.inner),
    ("outer", (X, W), {}, np.outer), ("kron", (X, Y[:2]), {}, np.kron),
    ("cross", (X[:, :3], Y[:, :3]), {}, np.cross),
    ("cross", (X[:2, :3].T.copy(), Y[:2, :3].T.copy()), {"axisa": 0, "axisb": 0},
     lambda a, b, axisa, axisb: np.cross(a, b, axisa=0, axisb=0)),
    ("correlate", (W[:3], V), {"mode": "same"}, lambda a, b, mode: np.correlate(a, b, mode)),
    ("correlate", (V, W), {"mode": "full"}, lambda a, b, mode: np.correlate(a, b, mode)),
    ("corrcoef", (X,), {}, np.corrcoef), ("vander", (V,), {"N": 3}, lambda x, N: np.vander(x, N)),
    ("bincount", (np.array([0, 1, 1, 3]),), {"minlength": 5},
     lambda x, minlength: np.bincount(x, minlength=minlength).astype("i4")),
    ("digitize", (X, SORTED), {}, lambda x, b: np.digitize(x, b).astype("i4")),
    ("searchsorted", (SORTED, V), {"side": "right"},
     lambda s, v, side: np.searchsorted(s, v, side).astype("i4")),
    ("argsort", (X,), {"axis": 0}, lambda x, axis: np.argsort(x, 0, kind="stable").astype("i4")),
    ("unique", (I,), {}, np.unique), ("isin", (I, J), {}, np.isin),
    ("histogram", (V,), {"bins": 3}, lambda x, bins: np.histogram(x, bins)),
    ("tri", (3, 4, 1), {}, lambda n, m, k: np.tri(n, m, k, dtype="f4")),
    ("eye", (3, 4, -1), {}, lambda n, m, k: np.eye(n, m, k, dtype="f4")),
    ("linspace", (0, 2, 7), {}, lambda a, b, n: np.linspace(a, b, n, dtype="f4")),
    ("logspace", (0, 2, 4), {"base": 2},
     lambda a, b, n, base: np.logspace(a, b, n, base=2).astype("f4")),
    ("hanning", (6,), {}, lambda n: np.hanning(n).astype("f4")),
    ("array_split", (V, 3), {}, np.array_split), ("split", (X, [1, 3]), {"axis": 1},
                                                  lambda x, i, axis: np.split(x, i, axis)),
    ("dstack", ([X, Y],), {}, np.dstack), ("vstack", ([V, V],), {}, np.vstack),
    ("hstack", ([X, Y],), {}, np.hstack), ("append", (X, Y), {}, np.append),
    ("moveaxis", (X3, 0, -1), {}, np.moveaxis), ("flip", (X3,), {"axis": (0, 2)},
                                                  lambda x, axis: np.flip(x, axis)),
    ("rot90", (X3,), {"k": 2, "axes": (1, 2)}, lambda x, k, axes: np.rot90(x, k, axes)),
    ("diagonal", (X3,), {"offset": 1, "axis1": 1, "axis2": 2},
     lambda x, offset, axis1, axis2: np.diagonal(x, offset, axis1, axis2)),
    ("trace", (X3,), {"axis1": 0, "axis2": 2},
     lambda x, axis1, axis2: np.trace(x, 0, axis1, axis2)),
    ("tril", (X, -1), {}, np.tril), ("triu", (X3, 1), {}, np.triu),
    ("einsum", ("bij,jk->bik", X3, Y.T), {}, np.einsum),
    ("tensordot", (X3, X3), {"axes": ([1, 2], [1, 2])},
     lambda a, b, axes: np.tensordot(a, b, axes)),
    ("sigmoid", (X,), {}, _np_sigmoid), ("relu6", (X * 5,), {}, lambda x: np.clip(x, 0, 6)),
    ("leaky_relu", (X,), {}, lambda x: np.where(x > 0, x, 0.2 * x)),
    ("silu", (X,), {}, lambda x: x * _np_sigmoid(x)),
    ("hard_sigmoid", (X * 4,), {}, lambda x: np.clip(x / 6 + 0.5, 0, 1)),
    ("softmax", (X,), {}, lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
    ("logsumexp", (X,), {"axis": 0}, lambda x, axis: np.log(np.exp(x).sum(0))),
    ("one_hot", (np.array([2, -1, 0]), 3), {},
     lambda x, n: np.eye(n, dtype="f4")[x] * (x >= 0)[:, None]),
    ("segment_sum", (X, np.array([1, 1, 0])), {},
     lambda x, s: np.stack([x[s == i].sum(0) for i in range(2)])),
    ("segment_max", (X, np.array([1, 1, 0])), {"num_segments": 3},
     lambda x, s, num_segments: np.stack([x[s == i].max(0) if (s == i).any()
                                          else np.full(4, -np.inf, "f4") for i in range(3)])),
    ("scatter", (np.array([[0, 1], [0, 1], [2, 0]]), V[:3], (3, 2)), {},
     lambda i, v, s: np.add.at(z := np.zeros(s, "f4"), tuple(i.T), v) or z),
    ("extract_sequences", (V, 2, 2), {}, lambda x, n, s: np.stack([x[0:2], x[2:4]])),
    ("cdist", (X, Y), {}, lambda a, b: np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1))),
    ("norm", (X,), {"ord": 2}, lambda x, ord: np.linalg.norm(x, 2)),
    ("norm", (X3,), {"axis": -1, "keepdims": True},
     lambda x, axis, keepdims: np.linalg.norm(x, axis=-1, keepdims=True)),
    ("det", (M,), {}, np.linalg.det), ("inv", (SPD,), {}, np.linalg.inv),
    ("solve", (SPD, W[:3]), {}, np.linalg.solve), ("pinv", (X,), {}, np.linalg.pinv),
    ("cholesky", (SPD,), {}, np.linalg.cholesky),
    ("lstsq", (X.T.copy(), W), {}, lambda a, b: np.linalg.lstsq(a, b, rcond=None)[0]),
    ("erf", (ops.erfinv(U).numpy(),), {},  # erfinv checked as erf's inverse
     lambda y: U),
    ("erf", (X,), {}, np.vectorize(math.erf)),
    ("i0", (np.array([-40.0, -3.0, 0.0, 0.5, 10.0, 29.9, 30.1, 60.0]),), {}, np.i0),
    ("rearrange", (X3, "b h w -> w (b h)"), {},
     lambda x, p: x.transpose(2, 0, 1).reshape(4, 6)),
]


@pytest.mark.parametrize("case", NUMPY_CASES, ids=lambda c: _case_id(c[:3]))
def test_matches_numpy(case):
    name, args, kw, ref = case
    ours = _numpy(_run(ops, ops.convert_to_tensor, case[:3]), ops.convert_to_numpy)
    want = ref(*args, **kw)
    if isinstance(want, (list, tuple)):
        assert len(ours) == len(want), name
        pairs = list(zip(ours, want))
    else:
        pairs = [(ours, want)]
    for a, b in pairs:
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape, (name, a.shape, b.shape)
        np.testing.assert_allclose(a.astype("f8"), b.astype("f8"), rtol=1e-4, atol=1e-5,
                                   err_msg=name)


def test_lu_factor_reconstructs():
    lu, piv = ops.lu_factor(M)
    lu, piv = lu.numpy(), piv.numpy()
    lower, upper = np.tril(lu, -1) + np.eye(3), np.triu(lu)
    a = M.copy()
    for k, p in enumerate(piv):
        a[[k, p]] = a[[p, k]]
    np.testing.assert_allclose(lower @ upper, a, rtol=1e-5, atol=1e-5)


def test_dtypes_follow_keras():
    assert ops.arange(3).dtype == np.int32 and ops.arange(0.0, 1.0, 0.5).dtype == np.float32
    assert ops.convert_to_tensor([1, 2]).dtype == np.int32
    assert ops.convert_to_tensor(1.5).dtype == np.float32
    assert ops.argmax(X).dtype == np.int32 and ops.argsort(X).dtype == np.int32
    assert ops.mean(I).dtype == np.float32 and ops.sqrt(I).dtype == np.float32
    assert ops.sum(I.astype(np.int8)).dtype == np.int32
    assert ops.add(ops.convert_to_tensor(I.astype(np.int8)), 1).dtype == np.int8
    assert ops.multiply(ops.convert_to_tensor(I), 2.5).dtype == np.float32
    assert ops.top_k(X, 2)[1].dtype == np.int64 and ops.dtype(ops.ones(2)) == "float32"
    assert ops.shape(X3) == (2, 3, 4) and ops.ndim(X3) == 3 and int(ops.size(X3)) == 24


def test_gelu_and_leaky_relu_defaults():
    x = ge.tensor(X)
    approx = 0.5 * X * (1 + np.tanh(np.sqrt(2 / np.pi) * (X + 0.044715 * X ** 3)))
    np.testing.assert_allclose(ops.gelu(x).numpy(), approx, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ops.leaky_relu(x).numpy(), np.where(X > 0, X, 0.2 * X),
                               rtol=1e-6)


def test_submodules_and_errors():
    assert ops.nn.conv is not None and ops.numpy.tile is ops.tile
    assert ops.linalg.qr is ops.qr and ops.image.resize is not None
    with pytest.raises(ValueError):
        ops.split(ge.tensor(V), 2)
    with pytest.raises(ValueError):
        ops.quantile(ge.tensor(X), 1.5)
    with pytest.raises(ValueError):
        ops.conv(ge.tensor(IMG), ge.tensor(K2), padding="full")
    with pytest.raises(ge.ShapeError):
        ops.conv(ge.tensor(IMG), ge.tensor(K2T))


def test_ops_take_keras_tensors():
    """Symbolic calls record nodes of a functional model, which then runs on real data."""
    from gradengine import keras
    inputs = keras.Input(shape=(4,))
    h = keras.layers.Dense(4)(inputs)
    out = ops.concatenate([ops.sort(h, axis=-1), ops.cumsum(h, axis=1),
                           ops.expand_dims(ops.quantile(h, 0.5, axis=-1), -1),
                           ops.clip(ops.tile(ops.expand_dims(ops.mean(h, -1), -1), 2), -1, 1),
                           ops.where(ops.greater(h, 0), h, ops.zeros_like(h))], axis=-1)
    assert isinstance(out, keras.KerasTensor) and out.shape == (None, 15)
    model = keras.Model(inputs, out)
    y = model.predict(X, verbose=0)
    hv = model.layers[1](ge.tensor(X)).numpy()
    np.testing.assert_allclose(y[:, :4], np.sort(hv, -1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y[:, 8], np.median(hv, -1), rtol=1e-5, atol=1e-6)


def _on(device):
    return lambda a: ge.tensor(a, device=device)


@pytest.mark.parametrize("case", [c for c in [c[:3] for c in NUMPY_CASES] + CASES +
                                  IMAGE_CASES if c[0] != "sparsemax"], ids=_case_id)
def test_on_the_cuda_stand_in(cuda_device, case):
    """The same values with the inputs on CUDA (the NumPy stand-in, or a real GPU)."""
    ns = ops.image if any(case is c for c in IMAGE_CASES) else ops
    want = _numpy(_run(ns, ops.convert_to_tensor, case), ops.convert_to_numpy)
    name, args, kw = case
    kw = {k: ge.tensor(v, device=cuda_device) if isinstance(v, np.ndarray) else v
          for k, v in kw.items()}
    got = _run(ns, _on(cuda_device), (name, args, kw))
    _compare(_numpy(got, ops.convert_to_numpy), want, case[0])
