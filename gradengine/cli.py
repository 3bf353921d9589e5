"""The ``gradengine`` command: ``gradengine demo`` and ``gradengine bench``.

    gradengine demo  [--device auto|cpu|cuda] [--out DIR] [--epochs-long N]
    gradengine bench [--device auto|cpu|cuda] [--quick] ...   (see gradengine.benchmark)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time

import numpy as np

SEED_CODE = '''\
from gradengine.nn import Sequential, Dense
model = Sequential()
model.add(Dense(3, input_dim=2, activation="sigmoid"))
model.add(Dense(1, activation="sigmoid"))
model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse"])
results = model.fit(X, y, epochs=50)'''


def _parser():
    p = argparse.ArgumentParser(prog="gradengine",
                                description="gradengine: a tensor autodiff engine on NumPy "
                                            "and CuPy")
    sub = p.add_subparsers(dest="command", metavar="{demo,bench}")
    d = sub.add_parser("demo", help="train the seed example as written, then learn XOR; "
                                    "write loss curves and the graph of one step")
    d.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="where to train (auto: cuda when available, else cpu)")
    d.add_argument("--out", default="demo_output", help="output folder (default: %(default)s)")
    d.add_argument("--epochs-long", type=int, default=500,
                   help="epochs of the longer XOR run (default: %(default)s)")
    d.add_argument("--seed", type=int, default=0, help="ge.manual_seed (default: %(default)s)")
    sub.add_parser("bench", help="the comparison table against PyTorch and others "
                                 "(options: gradengine bench --help)", add_help=False)
    return p


def main(argv=None) -> int:
    """Entry point of the ``gradengine`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "bench":
        try:
            from . import benchmark
        except ImportError as e:
            print(f"gradengine bench: the benchmark module is not available ({e})",
                  file=sys.stderr)
            return 2
        rc = benchmark.main(argv[1:])
        return int(rc or 0)
    args = _parser().parse_args(argv)
    if args.command == "demo":
        return demo(args.device, args.out, args.epochs_long, args.seed)
    _parser().print_help()
    return 1


def _pick_device(choice):
    import gradengine as ge
    if choice == "auto":
        return "cuda" if ge.cuda.is_available() else "cpu"
    return choice


def demo(device="auto", out="demo_output", epochs_long=500, seed=0) -> int:
    """Train the seed example as written and a longer XOR run; write pictures into ``out``."""
    import gradengine as ge
    from gradengine import backend
    dev = backend.normalize_device(_pick_device(device), "demo")
    previous = ge.get_default_device()
    ge.set_default_device(dev)
    try:
        return _demo(dev, out, epochs_long, seed)
    finally:
        ge.set_default_device(previous)


def _banner(text):
    print(f"\n== {text} " + "=" * max(0, 72 - len(text)))


def _demo(dev, out, epochs_long, seed):
    import gradengine as ge
    import gradengine.functional as F
    from gradengine import optim, viz
    from gradengine.nn import Dense, Sequential

    os.makedirs(out, exist_ok=True)
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([[0], [1], [1], [0]], dtype=np.float32)
    print(f"gradengine {ge.__version__} demo on {dev}")

    _banner("1. The seed example, exactly as written")
    print("X = [[0, 0], [0, 1], [1, 0], [1, 1]];  y = [[0], [1], [1], [0]]  (XOR)")
    print(SEED_CODE)
    print()
    ge.manual_seed(seed)
    t0 = time.perf_counter()
    model = Sequential()
    model.add(Dense(3, input_dim=2, activation="sigmoid"))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse"])
    results = model.fit(X, y, epochs=50)
    seed_secs = time.perf_counter() - t0
    hist = results.history
    print(f"\nresults.history ({len(hist['loss'])} epochs, {seed_secs * 1e3:.1f} ms):")
    print(f"{'epoch':>6} {'loss':>10} {'mae':>10} {'mse':>10}")
    for e in list(range(0, 50, 5)) + [49]:
        print(f"{e + 1:>6} {hist['loss'][e]:>10.6f} {hist['mae'][e]:>10.6f} "
              f"{hist['mse'][e]:>10.6f}")
    print("50 epochs of SGD at lr 0.01 barely move a sigmoid network: the loss creeps down, "
          "the\npredictions stay near 0.5. That is what the example teaches; the next run "
          "learns XOR.")

    _banner(f"2. A longer run that learns XOR ({epochs_long} epochs)")
    ge.manual_seed(seed)
    t0 = time.perf_counter()
    xor = Sequential()
    xor.add(Dense(16, input_dim=2, activation="tanh"))
    xor.add(Dense(1, activation="sigmoid"))
    xor.compile(optimizer=optim.Adam(xor.parameters(), lr=0.05), loss="binary_crossentropy",
                metrics=["accuracy"])
    long_hist = xor.fit(X, y, epochs=epochs_long, batch_size=4, verbose=0).history
    long_secs = time.perf_counter() - t0
    print('Dense(16, input_dim=2, activation="tanh") -> Dense(1, activation="sigmoid"), '
          "Adam(lr=0.05), binary_crossentropy")
    step = max(1, epochs_long // 5)
    for e in list(range(0, epochs_long, step)) + [epochs_long - 1]:
        print(f"  epoch {e + 1:>5}  loss {long_hist['loss'][e]:.5f}  "
              f"accuracy {long_hist['accuracy'][e]:.2f}")
    print(f"trained in {long_secs:.2f} s")
    probs = xor.predict(X)
    print("\npredictions:")
    print(f"{'x1':>4} {'x2':>4} {'target':>7} {'p(1)':>8} {'class':>6}")
    for xi, yi, pi in zip(X, y, probs):
        print(f"{xi[0]:>4.0f} {xi[1]:>4.0f} {yi[0]:>7.0f} {pi[0]:>8.4f} {int(pi[0] > 0.5):>6d}")
    acc = float(((probs > 0.5) == (y > 0.5)).mean())
    print(f"accuracy: {acc:.0%}")

    _banner("3. Pictures")
    _plot(os.path.join(out, "loss_curves.png"), hist, long_hist)

    # The graph of one training step of the seed model: forward, loss, backward.
    loss = F.mse_loss(model(X), ge.tensor(y, device=model[0].weight.device))
    model.zero_grad()
    loss.backward()
    names = dict(model.named_parameters())
    dot_path = os.path.join(out, "training_step.dot")
    with open(dot_path, "w", encoding="utf-8") as f:
        f.write(viz.to_dot(loss, names=names))
    print(f"wrote {dot_path} (the computational graph of one training step, with values "
          "and gradients)")
    if shutil.which("dot"):
        svg = viz.render(loss, os.path.join(out, "training_step.svg"), names=names)
        print(f"wrote {svg}")
    else:
        print("Graphviz's `dot` is not installed, so no SVG was drawn; install it (apt install "
              f"graphviz) or paste {dot_path} into an online Graphviz viewer")
    return 0 if acc == 1.0 else 1


def _plot(path, seed_hist, long_hist):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed, so no loss curves were drawn; "
              "pip install 'gradengine[plot]'")
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ax = axes[0]
    epochs = np.arange(1, len(seed_hist["loss"]) + 1)
    for key in ("loss", "mae"):
        ax.plot(epochs, seed_hist[key], label=key)
    ax.set_title("Seed example: SGD lr=0.01, MSE, 50 epochs")
    ax.set_xlabel("epoch")
    ax.legend()
    ax = axes[1]
    epochs = np.arange(1, len(long_hist["loss"]) + 1)
    ax.plot(epochs, long_hist["loss"], label="binary cross-entropy")
    ax.plot(epochs, long_hist["accuracy"], label="accuracy")
    ax.set_title("XOR learned: 2-16-1 tanh/sigmoid, Adam lr=0.05")
    ax.set_xlabel("epoch")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    sys.exit(main())
