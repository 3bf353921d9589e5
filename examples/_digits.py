"""The 8x8 digits the examples and the benchmark train on: scikit-learn's ``load_digits``
(1,797 images) when scikit-learn is installed, else a digits-like set drawn here from ten
fixed 8x8 glyphs (shifted, thickened and noisy), so the scripts run anywhere."""

from __future__ import annotations

import numpy as np

_GLYPHS = [
    "..####..|.#....#.|.#....#.|.#....#.|.#....#.|.#....#.|.#....#.|..####..",
    "...##...|..###...|...##...|...##...|...##...|...##...|...##...|..####..",
    "..####..|.#....#.|......#.|.....#..|....#...|...#....|..#.....|.######.",
    "..####..|.#....#.|......#.|...###..|......#.|......#.|.#....#.|..####..",
    ".....#..|....##..|...#.#..|..#..#..|.######.|.....#..|.....#..|.....#..",
    ".######.|.#......|.#......|.#####..|......#.|......#.|.#....#.|..####..",
    "..####..|.#......|.#......|.#####..|.#....#.|.#....#.|.#....#.|..####..",
    ".######.|......#.|.....#..|....#...|...#....|...#....|...#....|...#....",
    "..####..|.#....#.|.#....#.|..####..|.#....#.|.#....#.|.#....#.|..####..",
    "..####..|.#....#.|.#....#.|.#....#.|..#####.|......#.|......#.|..####..",
]


def _synthetic(n=1797, seed=0):
    rng = np.random.default_rng(seed)
    base = np.array([[[c == "#" for c in row] for row in g.split("|")] for g in _GLYPHS],
                    dtype=np.float64)
    y = rng.integers(0, 10, n)
    X = np.empty((n, 8, 8))
    for i, label in enumerate(y):
        img = np.roll(base[label], (rng.integers(-1, 2), rng.integers(-1, 2)), axis=(0, 1))
        if rng.random() < 0.5:
            img = np.maximum(img, np.roll(img, 1, axis=1))
        img = img * rng.uniform(10, 16) + rng.normal(0, 2.0, (8, 8))
        X[i] = np.clip(img, 0, 16)
    return X.reshape(n, 64), y


def load(test_fraction=0.2, seed=0):
    """``(X_train, y_train, X_test, y_test, source)``: X in [0, 1] as float32, shape (N, 64),
    y int64 labels 0..9, a fixed shuffled split."""
    try:
        from sklearn.datasets import load_digits
        d = load_digits()
        X, y, source = d.data, d.target, "sklearn.datasets.load_digits"
    except ImportError:
        X, y = _synthetic()
        source = "synthetic digits (scikit-learn not installed)"
    X = (X / 16.0).astype(np.float32)
    y = y.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(X))
    cut = int(len(X) * (1 - test_fraction))
    tr, te = order[:cut], order[cut:]
    return X[tr], y[tr], X[te], y[te], source
