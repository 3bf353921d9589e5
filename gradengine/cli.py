"""The ``gradengine`` command (also ``python -m gradengine``): ``demo`` and ``bench``.

    gradengine demo  [--device auto|cpu|cuda] [--out DIR] [--quick] [--epochs-long N] [--seed N]
    gradengine bench [--device auto|cpu|cuda] [--out DIR] [--quick] [--only CASES] [--targets]
    gradengine launch -n N script.py [args]
    gradengine --version

A user error (a bad flag, a device that is not there, a folder that cannot be written)
prints one line and exits with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

DEMO_OUT = "gradengine-demo"
BENCH_OUT = "gradengine-bench"

SEED_CODE = '''\
from gradengine.nn import Sequential, Dense
model = Sequential()
model.add(Dense(3, input_dim=2, activation="sigmoid"))
model.add(Dense(1, activation="sigmoid"))
model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse"])
results = model.fit(X, y, epochs=50)'''

DEMO_DESCRIPTION = """\
Train the seed example exactly as written: a 2-3-1 network (Dense(3, input_dim=2,
activation="sigmoid") then Dense(1, activation="sigmoid")) on the four points of XOR,
50 epochs of SGD (learning rate 0.01) on the mean squared error, with the mae and mse
metrics, and print its history. Fifty epochs of SGD barely move it, as in Keras; a longer
run then learns XOR (2-16-1, tanh then sigmoid, Adam lr 0.05, binary cross-entropy).
Writes into --out: loss_curves.png (needs matplotlib: pip install 'gradengine[plot]'),
training_step.dot, and training_step.svg when Graphviz's `dot` is installed. Takes about
a second on two CPU cores. Exit status 0 when XOR was learned, 1 when not, 2 on a user
error."""

DEMO_EXAMPLE = """\
example:
  gradengine demo                      # best device present, pictures into ./gradengine-demo
  gradengine demo --device cpu --out /tmp/demo"""

BENCH_DESCRIPTION = """\
Time gradengine beside PyTorch and the same maths written by hand in NumPy (CuPy on a GPU),
plus gradengine+jit and TF-Keras where they apply, all in one run on this machine; print
the table and write <device>-<date>.json, .md and .png (the chart needs matplotlib) into
--out. Ratios are to PyTorch (pip install 'gradengine[bench]'); a missing library skips
its column with the reason. --quick takes about three minutes on two CPU cores, the full sizes
several minutes."""

BENCH_EXAMPLE = """\
example:
  gradengine bench --quick                     # results into ./gradengine-bench
  gradengine bench --device cpu --only sigmoid,mlp --out /tmp/bench
  gradengine bench --targets                   # also the maintainers' targets"""

# -- launch (gradengine.distributed) ---------------------------------------------------------
LAUNCH_DESCRIPTION = """\
Run script.py as N processes of one data-parallel world: mpiexec -n N with each rank given
cores / N threads (OMP_NUM_THREADS and the BLAS equivalents). Uses the mpiexec beside this
Python (pip install 'gradengine[mpi]' brings one) or on PATH. In the script,
gradengine.distributed.init() joins the world. Exit status: the job's, 2 on a user error."""

LAUNCH_EXAMPLE = """\
example:
  gradengine launch -n 4 train.py --epochs 10
  gradengine launch -n 2 examples/distributed_mlp.py"""
# -- end launch ----------------------------------------------------------------------------

MAIN_DESCRIPTION = """\
gradengine: a tensor autodiff engine you can read, on NumPy (CPU) and CuPy (CUDA).
Commands: `demo` trains the seed example and draws its pictures; `bench` compares
gradengine with PyTorch and hand-written NumPy/CuPy; `launch` runs a script on N ranks."""

MAIN_EXAMPLE = """\
example:
  gradengine demo --device cpu
  gradengine bench --quick
  gradengine demo --help"""


class UserError(Exception):
    """A mistake in the command line or its environment: one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the command and its --help."""

    def error(self, message):
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def _version() -> str:
    import gradengine
    return gradengine.__version__


def _common(parser, out_default, quick_help):
    """The flags that demo and bench share, with the same names and meanings."""
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                        help="where to run: cpu, cuda, or auto (cuda when CuPy sees a GPU, "
                             "else cpu; default)")
    parser.add_argument("--out", metavar="DIR", type=Path, default=None,
                        help=f"folder for the files written (default: ./{out_default})")
    parser.add_argument("--quick", action="store_true", help=quick_help)


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``gradengine`` and its commands."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = _Parser(prog="gradengine", description=MAIN_DESCRIPTION, epilog=MAIN_EXAMPLE,
                formatter_class=fmt)
    p.add_argument("--version", action="version", version=f"gradengine {_version()}")
    sub = p.add_subparsers(dest="command", metavar="{demo,bench,launch}", parser_class=_Parser)
    d = sub.add_parser("demo", help="train the seed example (a 2-3-1 sigmoid network on XOR, "
                                    "SGD, MSE), then learn XOR; draw loss curves and the graph",
                       description=DEMO_DESCRIPTION, epilog=DEMO_EXAMPLE, formatter_class=fmt)
    _common(d, DEMO_OUT, "a 100-epoch XOR run instead of 500 (the demo takes about a second "
                         "either way)")
    d.add_argument("--epochs-long", type=int, default=None, metavar="N",
                   help="epochs of the longer XOR run (default: 500, or 100 with --quick)")
    d.add_argument("--seed", type=int, default=0, help="ge.manual_seed (default: %(default)s)")
    b = sub.add_parser("bench", help="time gradengine beside PyTorch and NumPy/CuPy by hand",
                       description=BENCH_DESCRIPTION, epilog=BENCH_EXAMPLE, formatter_class=fmt)
    _common(b, BENCH_OUT, "smaller sizes and shorter sampling (about three minutes on 2 cores)")
    b.add_argument("--only", default="", metavar="CASES",
                   help="comma-separated parts of case names to run, e.g. sigmoid,mlp")
    b.add_argument("--targets", action="store_true",
                   help="also show the maintainers' performance targets and whether this run "
                        "meets them")
    b.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)  # tests: tiny sizes
    # -- launch (gradengine.distributed)
    la = sub.add_parser("launch", help="run a script on N ranks (mpiexec with the environment "
                                       "set)", description=LAUNCH_DESCRIPTION,
                        epilog=LAUNCH_EXAMPLE, formatter_class=fmt)
    la.add_argument("-n", "--nproc", type=int, required=True, metavar="N",
                    help="the number of ranks (processes)")
    la.add_argument("script", help="the Python script to run on every rank")
    la.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the script")
    # -- end launch
    return p


def main(argv=None) -> int:
    """Entry point of the ``gradengine`` console script; returns the exit status."""
    parser = build_parser()
    args, extra = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    if args.command is None:
        parser.error("choose a command: demo, bench or launch")
    if extra:
        _Parser(prog=f"gradengine {args.command}").error(
            f"unrecognized arguments: {' '.join(extra)}")
    try:
        if args.command == "demo":
            epochs = args.epochs_long if args.epochs_long is not None else (
                100 if args.quick else 500)
            if epochs < 1:
                raise UserError("--epochs-long must be at least 1")
            return demo(args.device, args.out or DEMO_OUT, epochs, args.seed)
        if args.command == "launch":
            return launch(args.nproc, args.script, args.args)
        return bench(args)
    except UserError as exc:
        print(f"gradengine {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"gradengine {args.command}: interrupted", file=sys.stderr)
        return 130


# -- launch (gradengine.distributed) ---------------------------------------------------------
def launch(n, script, script_args) -> int:
    """``mpiexec -n N python script [args]`` with cores / N threads per rank; the job's exit
    status."""
    from .distributed import launch as dl
    if n < 1:
        raise UserError(f"-n must be at least 1, got {n}")
    if not os.path.isfile(script):
        raise UserError(f"script {script!r} not found")
    exe = dl.find_mpiexec()
    if exe is None:
        raise UserError("mpiexec not found; pip install 'gradengine[mpi]' (mpi4py and an MPI "
                        "from PyPI) or put a system MPI's mpiexec on PATH")
    cmd, env = dl.command(n, script, script_args, exe, dl.flavor(exe))
    return subprocess.run(cmd, env=env, check=False).returncode
# -- end launch ----------------------------------------------------------------------------


def _out_dir(path) -> Path:
    """Create the output folder, or a UserError saying why it cannot be used."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot use {str(path)!r} as the output folder: "
                        f"{exc.strerror or exc}") from None
    if not os.access(path, os.W_OK):
        raise UserError(f"cannot write into the output folder {str(path)!r}")
    return path


def _device(choice: str) -> str:
    """The device to run on; a UserError when "cuda" is asked for and cannot be had."""
    import gradengine as ge
    if choice == "auto":
        return "cuda" if ge.cuda.is_available() else "cpu"
    if choice == "cuda" and not ge.cuda.is_available():
        raise UserError("--device cuda needs CuPy and a CUDA device; "
                        f"{ge.backend.INSTALL_HINT}, or use --device cpu")
    return choice


def bench(args) -> int:
    """``gradengine bench``: load the harness (not a part of the library) and run it."""
    from gradengine import benchmarks

    size = "smoke" if args.smoke else "quick" if args.quick else "full"
    try:
        env = benchmarks.Env.detect(_device(args.device), size)
    except (ValueError, RuntimeError) as exc:  # DeviceError is a RuntimeError
        raise UserError(str(exc)) from None
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    if only and not benchmarks.make_cases(env, only):
        keys = ", ".join(benchmarks.case_keys(env))
        raise UserError(f"--only {args.only!r} matches no case; the cases are: {keys}")
    out = _out_dir(args.out or BENCH_OUT)
    print(f"gradengine bench: results go to {out}{os.sep}", file=sys.stderr)
    benchmarks.run(env, out, only, targets=args.targets)
    return 0


def demo(device="auto", out=DEMO_OUT, epochs_long=500, seed=0) -> int:
    """Train the seed example as written and a longer XOR run; write pictures into ``out``.

    Returns 0 when the longer run learned XOR, else 1.
    """
    import gradengine as ge
    dev = _device(device)
    out = _out_dir(out)
    previous = ge.get_default_device()
    ge.set_default_device(dev)
    try:
        return _demo(dev, out, epochs_long, seed)
    finally:
        ge.set_default_device(previous)


def _banner(text):
    print(f"\n== {text} " + "=" * max(0, 72 - len(text)))


def _demo(dev, out: Path, epochs_long, seed):
    import gradengine as ge
    import gradengine.functional as F
    from gradengine import optim, viz
    from gradengine.nn import Dense, Sequential

    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([[0], [1], [1], [0]], dtype=np.float32)
    print(f"gradengine {ge.__version__} demo on {dev}; files go to {out}{os.sep}")

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
    for e in [*range(0, 50, 5), 49]:
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
    for e in sorted({*range(0, epochs_long, step), epochs_long - 1}):
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
    plot_history(out / "loss_curves.png", hist, long_hist)

    # The graph of one training step of the seed model: forward, loss, backward.
    Xt, yt = ge.tensor(X), ge.tensor(y)
    loss = F.mse_loss(model(Xt), yt)
    model.zero_grad()
    loss.backward()
    names = {"X": Xt, "y": yt, "loss": loss}
    for i, layer in enumerate(model, start=1):
        names[f"W{i}"], names[f"b{i}"] = layer.weight, layer.bias
    dot_path = out / "training_step.dot"
    dot_path.write_text(viz.to_dot(loss, names=names), encoding="utf-8")
    print(f"wrote {dot_path} (the computational graph of one training step of the seed "
          "model, with values and gradients)")
    if shutil.which("dot"):
        svg = viz.render(loss, out / "training_step.svg", names=names)
        print(f"wrote {svg}")
    else:
        print("Graphviz's `dot` is not installed, so no SVG was drawn; install it (apt install "
              f"graphviz) or paste {dot_path} into an online Graphviz viewer")
    return 0 if acc == 1.0 else 1


def plot_history(path, seed_hist, long_hist):
    """Loss (log scale) and metric curves of both demo runs, side by side; the path or None."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        print("matplotlib is not installed, so no loss curves were drawn; "
              "pip install 'gradengine[plot]'")
        return None
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    runs = [
        ("Seed example: 2-3-1 sigmoid, SGD lr 0.01", seed_hist, "loss", "MSE loss",
         [("mae", "mean absolute error"), ("mse", "mean squared error")], "error"),
        ("Longer run: 2-16-1 tanh/sigmoid, Adam lr 0.05", long_hist, "loss",
         "binary cross-entropy loss", [("accuracy", "accuracy")], "accuracy"),
    ]
    for row, (title, hist, key, loss_label, metrics, metric_axis) in zip(axes, runs):
        epochs = np.arange(1, len(hist[key]) + 1)
        ax = row[0]
        ax.plot(epochs, hist[key], color="tab:blue")
        ax.set_yscale("log")
        plain = FuncFormatter(lambda v, _: f"{v:.4g}")  # 0.001, not 10^-3
        ax.yaxis.set_major_formatter(plain)
        if max(hist[key]) < 10 * min(hist[key]):  # within a decade: label the minor ticks
            ax.yaxis.set_minor_formatter(plain)
        ax.annotate(f"{hist[key][0]:.4g} → {hist[key][-1]:.4g} in {len(epochs)} epochs",
                    xy=(0.98, 0.95), xycoords="axes fraction", ha="right", va="top",
                    fontsize=9)
        ax.set_title(f"{title}: loss", fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"{loss_label} (log scale)")
        ax.grid(True, which="both", alpha=0.3)
        ax = row[1]
        for (mkey, label), color in zip(metrics, ("tab:orange", "tab:green")):
            ax.plot(epochs, hist[mkey], label=label, color=color)
        if metric_axis == "accuracy":
            ax.set_ylim(-0.05, 1.05)
        ax.set_title(f"{title}: metrics", fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric_axis)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    sys.exit(main())
