"""RELIABILITY.md section 2, the bad-input rows not covered elsewhere (17-19), and a guard
that every row 1-29 has a test somewhere in tests/.

Rows 1-16, 28, 29: tests/test_errors.py. Row 20-25: tests/test_keras.py. Rows 26-27 (and
the 12 corruption variants): tests/test_checkpoint.py. Rows 17-19 are the losses called
directly (test_keras.py checks the same conditions through ``fit``).
"""

from __future__ import annotations

import glob
import os
import re

import numpy as np
import pytest

import gradengine as ge
import gradengine.functional as F
from ge_testutil import Snapshot

HERE = os.path.dirname(os.path.abspath(__file__))


def _raises(exc, regex, fn, *tensors):
    snap = Snapshot(*tensors)
    with pytest.raises(exc, match=regex):
        fn()
    snap.assert_unchanged()


@pytest.mark.parametrize("labels", [[0, 1, 2, 3], np.array([0, 1, 2, 3]),
                                    ge.tensor([0, 1, 2, 3])], ids=["list", "numpy", "tensor"])
def test_cross_entropy_label_out_of_range(labels):
    logits = ge.randn(4, 3, requires_grad=True)
    _raises(ValueError, r"cross_entropy: label 3 .*3 classes",
            lambda: F.cross_entropy(logits, labels), logits)


def test_negative_label_too():
    logits = ge.randn(4, 3, requires_grad=True)
    _raises(ValueError, r"cross_entropy: label -1 .*3 classes",
            lambda: F.cross_entropy(logits, np.array([0, 1, 2, -1])), logits)


@pytest.mark.parametrize("labels", [np.array([0.0, 1.0, 2.0, 1.0], np.float32),
                                    ge.tensor([0.0, 1.0, 2.0, 1.0])], ids=["numpy", "tensor"])
def test_cross_entropy_float_labels(labels):
    logits = ge.randn(4, 3, requires_grad=True)
    tensors = (logits, labels) if isinstance(labels, ge.Tensor) else (logits,)
    _raises(ge.DTypeError, r"cross_entropy: .*integer labels.*float32",
            lambda: F.cross_entropy(logits, labels), *tensors)


@pytest.mark.parametrize("prob", [[1.2], [-0.2], [0.5, np.nan]])
def test_binary_cross_entropy_probability_outside_0_1(prob):
    p = ge.tensor(prob, requires_grad=True)
    t = ge.ones(len(prob))
    if np.isnan(prob[-1]):
        # NaN is not "outside [0, 1]": it propagates (section 2, "not errors")
        assert np.isnan(F.binary_cross_entropy(p, t).item())
        return
    _raises(ValueError, r"binary_cross_entropy: .*\[0, 1\]",
            lambda: F.binary_cross_entropy(p, t), p, t)


# Where each row of RELIABILITY.md section 2 is tested (a test of that name, or a
# parametrized form of it, somewhere in tests/).
NAMED = {
    1: "test_add_shapes_that_do_not_broadcast",
    2: "test_matmul_inner_dims_differ",
    3: "test_matmul_of_a_0d_tensor",
    4: "test_reshape_to_a_different_size",
    5: "test_sum_axis_out_of_range",
    6: "test_transpose_with_repeated_axes",
    7: "test_mixing_devices",
    8: "test_cuda_without_cupy_or_gpu_says_how_to_install",
    9: "test_int_tensor_cannot_require_grad",
    10: "test_unsupported_dtype_lists_the_supported_ones",
    11: "test_backward_of_non_scalar_without_grad",
    12: "test_backward_grad_of_wrong_shape",
    13: "test_backward_without_requires_grad_or_under_no_grad",
    14: "test_second_backward_through_a_freed_graph",
    15: "test_in_place_change_of_a_saved_tensor",
    16: "test_grad_of_an_input_not_in_the_graph",
    17: "test_cross_entropy_label_out_of_range",
    18: "test_cross_entropy_float_labels",
    19: "test_binary_cross_entropy_probability_outside_0_1",
    20: "test_mse_loss_does_not_broadcast_n1_against_n",
    21: "test_fit_with_mismatched_sample_counts_raises_before_any_change",
    22: "test_dense_called_with_the_wrong_width_raises_before_any_change",
    23: "test_compile_with_unknown_names_lists_the_allowed_ones",
    24: "test_fit_evaluate_before_compile_raise_runtime_error",
    25: "test_load_weights_with_bad_keys_or_shapes_changes_nothing",
    26: "test_corrupted_checkpoint_raises_checkpoint_error",
    27: "test_missing_file_raises_file_not_found",
    28: "test_index_out_of_bounds",
    29: "test_max_of_a_size_zero_tensor",
}


def test_every_row_of_section_2_has_a_test():
    source = ""
    for path in glob.glob(os.path.join(HERE, "test_*.py")):
        with open(path, encoding="utf-8") as f:
            source += f.read()
    names = set(re.findall(r"def (test_\w+)", source))
    missing = []
    for row in range(1, 30):
        found = row in NAMED and any(n.startswith(NAMED[row]) for n in names)
        if not found:
            missing.append(row)
    assert not missing, f"RELIABILITY.md section 2 rows without a test: {missing}"
