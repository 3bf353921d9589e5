"""``torch.profiler`` and ``torch.autograd.profiler``: per-op counts and CPU time.

    with ge.profiler.profile(record_shapes=True) as prof:
        with ge.profiler.record_function("step"):
            loss = model(x).sum()
            loss.backward()
    print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))
    prof.export_chrome_trace("trace.json")

The profiler is a plug-in on the dispatch's one hook (``_mode.hook``, the hook ge.jit's
recorder uses): every op call, forward and backward, is an event named after the op
(``matmul``, ``mul``; torch's are ``aten::matmul``...). The hook is called when an op has
run, so an op's event spans from the end of the previous event (or the start of a
``record_function`` range) to the end of the op: it includes the Python between two ops.
``record_function`` ranges are timed exactly. While it records:

- the backward runs its gradient rules through the dispatch (the Tensor rules, whose
  results equal the array rules' bit for bit), so its ops are events too;
- a ``ge.jit`` function runs eagerly (its ops are the events; the results are equal);
- a profiler opened while ge.jit records a step chains to that recorder: both see every
  op (and the replays, which run no Python, are not profiled).

Only the thread that opened it is profiled; on CUDA the CPU time is the launch time
(there are no device timings: ``device_time_total`` is 0).
"""

from __future__ import annotations

import enum
import functools
import json
import os
import threading
import time

from .core.gradmode import _mode
from .core.op import _host_op
from .core.tensor import Tensor

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg", "ProfilerAction",
           "ProfilerActivity", "emit_nvtx", "profile", "record_function", "schedule",
           "supported_activities", "tensorboard_trace_handler"]

_now = time.perf_counter_ns


class ProfilerActivity(enum.Enum):
    """``torch.profiler.ProfilerActivity``: what to profile (CPU is what gradengine times)."""

    CPU = 0
    XPU = 1
    MTIA = 2
    CUDA = 3
    HPU = 4
    PrivateUse1 = 5


def supported_activities():
    """``torch.profiler.supported_activities``: the activities that can be profiled."""
    from . import cuda
    return {ProfilerActivity.CPU} | ({ProfilerActivity.CUDA} if cuda.is_available() else set())


class ProfilerAction(enum.Enum):
    """What a :func:`schedule` says to do at a step."""

    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0,
             skip_first_wait: int = 0):
    """``torch.profiler.schedule``: skip ``skip_first`` steps, then cycles of ``wait`` idle,
    ``warmup`` and ``active`` recorded steps (``repeat`` cycles; 0: no end); the last active
    step of a cycle is RECORD_AND_SAVE (``on_trace_ready`` is called after it)."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError(f"Invalid profiler schedule arguments. Got wait={wait} (need >= "
                             f"0), warmup={warmup} (need >= 0), active={active} (need > 0), "
                             f"repeat={repeat} (need >= 0), skip_first={skip_first} (need >= "
                             "0).")

    def schedule_fn(step: int) -> ProfilerAction:
        if step < 0:
            raise AssertionError(f"Step must be non-negative. Got {step}.")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait != 0:  # the first cycle starts without its wait
            step += wait
        num_steps = wait + warmup + active
        if repeat > 0 and step / num_steps >= repeat:
            return ProfilerAction.NONE
        mod = step % num_steps
        if mod < wait:
            return ProfilerAction.NONE
        if mod < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if mod < num_steps - 1 else ProfilerAction.RECORD_AND_SAVE

    return schedule_fn


def _default_schedule(step):
    return ProfilerAction.RECORD


# ---------------------------------------------------------------- events
class FunctionEvent:
    """One event: an op call or a ``record_function`` range (times in microseconds)."""

    __slots__ = ("name", "start_ns", "end_ns", "input_shapes", "kind", "thread", "child_ns",
                 "id")

    def __init__(self, name, start_ns, end_ns, input_shapes, kind, thread, id_):
        self.name, self.start_ns, self.end_ns = name, start_ns, end_ns
        self.input_shapes, self.kind, self.thread = input_shapes, kind, thread
        self.child_ns = 0
        self.id = id_

    key = property(lambda self: self.name)
    count = property(lambda self: 1)
    cpu_time_total = property(lambda self: (self.end_ns - self.start_ns) / 1e3)
    self_cpu_time_total = property(lambda self: (self.end_ns - self.start_ns -
                                                 self.child_ns) / 1e3)
    cpu_time = cpu_time_total
    device_time_total = cuda_time_total = self_device_time_total = self_cuda_time_total = \
        property(lambda self: 0.0)
    cpu_memory_usage = self_cpu_memory_usage = property(lambda self: 0)

    @property
    def time_range(self):
        return (self.start_ns / 1e3, self.end_ns / 1e3)

    def __repr__(self):
        return (f"<FunctionEvent id={self.id} name={self.name} cpu_time="
                f"{_format_time(self.cpu_time_total)} input_shapes={self.input_shapes}>")


class FunctionEventAvg:
    """The events of one key summed (``key_averages()``'s rows): ``key``, ``count``,
    ``cpu_time_total`` and ``self_cpu_time_total`` (microseconds), ``cpu_time`` (their
    average), ``input_shapes`` (grouped by shape only when asked)."""

    def __init__(self, key, input_shapes=None):
        self.key = key
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0
        self.input_shapes = input_shapes
        self.device_time_total = self.self_device_time_total = 0.0
        self.cpu_memory_usage = self.self_cpu_memory_usage = 0
        self.node_id = -1
        self.is_async = self.is_remote = self.is_legacy = False
        self.stack = []
        self.flops = 0

    def add(self, evt):
        self.count += evt.count
        self.cpu_time_total += evt.cpu_time_total
        self.self_cpu_time_total += evt.self_cpu_time_total
        return self

    cuda_time_total = property(lambda self: self.device_time_total)
    self_cuda_time_total = property(lambda self: self.self_device_time_total)

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total / self.count if self.count else 0.0

    @property
    def self_cpu_time(self) -> float:
        return self.self_cpu_time_total / self.count if self.count else 0.0

    device_time = cuda_time = property(lambda self: 0.0)

    def __repr__(self):
        return (f"<FunctionEventAvg key={self.key} self_cpu_time="
                f"{_format_time(self.self_cpu_time_total)} cpu_time="
                f"{_format_time(self.cpu_time_total)} input_shapes={self.input_shapes}>")


class EventList(list):
    """A list of events (or of averaged rows) with torch's ``table``, ``key_averages``,
    ``total_average`` and ``export_chrome_trace``."""

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0,
                     group_by_overload_name=False):
        rows = {}
        for evt in self:
            shapes = evt.input_shapes if group_by_input_shape else None
            key = "ProfilerStep*" if evt.key.startswith("ProfilerStep#") else evt.key  # torch's
            k = (key, str(shapes)) if group_by_input_shape else key
            row = rows.get(k)
            if row is None:
                row = rows[k] = FunctionEventAvg(key, shapes)
            row.add(evt)
        return EventList(rows.values())

    def total_average(self):
        total = FunctionEventAvg("Total")
        for evt in self:
            total.add(evt)
        return total

    @property
    def self_cpu_time_total(self) -> float:
        return sum(e.self_cpu_time_total for e in self)

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75,
              max_name_column_width=55, max_shapes_column_width=80, header=None,
              top_level_events_only=False, time_unit=None):
        """A text table as torch's: one row per event or key, sorted by the attribute
        ``sort_by`` (descending), at most ``row_limit`` rows (-1: all)."""
        return _table(self, sort_by, row_limit, max_name_column_width,
                      max_shapes_column_width, header, time_unit)

    def export_chrome_trace(self, path):
        """Write the events as Chrome trace JSON (``chrome://tracing``, Perfetto)."""
        events = []
        pid = os.getpid()
        for evt in self:
            if not isinstance(evt, FunctionEvent):
                raise TypeError("export_chrome_trace: needs events, not key averages")
            e = {"ph": "X", "cat": evt.kind, "name": evt.name, "pid": pid,
                 "tid": evt.thread, "ts": evt.start_ns / 1e3,
                 "dur": (evt.end_ns - evt.start_ns) / 1e3, "args": {"External id": evt.id}}
            if evt.input_shapes is not None:
                e["args"]["Input Dims"] = evt.input_shapes
            events.append(e)
        with open(path, "w") as f:
            json.dump({"schemaVersion": 1, "displayTimeUnit": "ms", "traceEvents": events,
                       "traceName": str(path)}, f)


def _format_time(us, unit=None):
    if unit == "s" or unit is None and us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if unit == "ms" or unit is None and us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def _table(events, sort_by, row_limit, name_width, shapes_width, header, time_unit):
    rows = list(events)
    if sort_by is not None:
        attr = sort_by.replace("cuda", "device")
        if rows and not hasattr(rows[0], attr):
            raise AttributeError(f"table: the events have no attribute {sort_by!r} to sort by")
        rows.sort(key=lambda e: getattr(e, attr), reverse=True)
    if row_limit is not None and row_limit >= 0:
        rows = rows[:row_limit]
    total_self = sum(e.self_cpu_time_total for e in events) or 1.0
    shapes = any(getattr(e, "input_shapes", None) for e in rows)
    name_w = min(max([len("Name")] + [len(e.key) for e in rows]) + 4, name_width)
    cols = ["Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg", "# of Calls"]
    widths = [12] * len(cols)
    head = [f"{'Name':>{name_w}}"] + [f"{c:>{w}}" for c, w in zip(cols, widths)]
    if shapes:
        head.append(f"{'Input Shapes':<{shapes_width}}")
    line = "-" * name_w + "  " + "  ".join("-" * w for w in widths) + \
        ("  " + "-" * shapes_width if shapes else "") + "  "
    out = [header] if header else []
    out += [line, "  ".join(head) + "  ", line]
    for e in rows:
        name = e.key if len(e.key) <= name_w else e.key[:name_w - 3] + "..."
        cells = [f"{name:>{name_w}}",
                 f"{100 * e.self_cpu_time_total / total_self:.2f}%",
                 _format_time(e.self_cpu_time_total, time_unit),
                 f"{100 * e.cpu_time_total / total_self:.2f}%",
                 _format_time(e.cpu_time_total, time_unit),
                 _format_time(e.cpu_time, time_unit),
                 str(e.count)]
        cells = cells[:1] + [f"{c:>{w}}" for c, w in zip(cells[1:], widths)]
        if shapes:
            cells.append(f"{str(e.input_shapes)[:shapes_width]:<{shapes_width}}")
        out.append("  ".join(cells) + "  ")
    out.append(line)
    out.append(f"Self CPU time total: {_format_time(total_self, time_unit)}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- the recorder
class _Recorder:
    """The dispatch's hook while profiling: an event per op, chained to the hook it found
    (ge.jit's recorder, or an outer profiler)."""

    def __init__(self, inner, record_shapes):
        self.inner = inner
        self.record_shapes = record_shapes
        self.events = []
        self.recording = True
        self.thread = threading.get_ident()
        self.mark = _now()

    def op(self, op, args, params, out):
        if self.inner is not None:
            self.inner.op(op, args, params, out)
        if self.recording:
            end = _now()
            name = op.name
            if op is _host_op:  # an optimizer step, a zero_grad ...: named after the call
                fn = params[0][0]
                name = getattr(fn, "__qualname__", name)
            shapes = [list(a.shape) if isinstance(a, Tensor) else [] for a in args] \
                if self.record_shapes else None
            self.events.append(FunctionEvent(name, self.mark, end, shapes, "cpu_op",
                                             self.thread, len(self.events)))
            self.mark = _now()

    def grad(self, leaf, g, accumulate, copy):
        if self.inner is not None:
            self.inner.grad(leaf, g, accumulate, copy)
        if self.recording:
            end = _now()
            shapes = [list(leaf.shape)] if self.record_shapes else None
            self.events.append(FunctionEvent("AccumulateGrad", self.mark, end, shapes,
                                             "cpu_op", self.thread, len(self.events)))
            self.mark = _now()

    def range(self, name, start, end):
        shapes = [] if self.record_shapes else None
        self.events.append(FunctionEvent(name, start, end, shapes, "user_annotation",
                                         self.thread, len(self.events)))
        self.mark = _now()

    def __getattr__(self, name):  # what plug-ins read on ge.jit's recorder (``reduced``)
        inner = self.__dict__.get("inner")
        if inner is None:
            raise AttributeError(name)
        return getattr(inner, name)


def _recorders():
    """The profilers recording in this thread, innermost first."""
    out = []
    hook = _mode.hook
    while isinstance(hook, _Recorder):
        out.append(hook)
        hook = hook.inner
    return out


def _self_times(events):
    """Each event's ``child_ns``: the time of the events nested directly inside it."""
    stack = []
    for evt in sorted(events, key=lambda e: (e.start_ns, -e.end_ns, e.id)):
        while stack and stack[-1].end_ns <= evt.start_ns:
            stack.pop()
        if stack and evt.end_ns <= stack[-1].end_ns:
            stack[-1].child_ns += evt.end_ns - evt.start_ns
        stack.append(evt)


class _Profile:
    """What both profilers share: start/stop on the hook, the events, the reports."""

    def __init__(self, enabled, record_shapes):
        self.enabled = bool(enabled)
        self.record_shapes = bool(record_shapes)
        self._rec = None
        self._events = []
        self._running = False

    def _start(self):
        if not self.enabled or self._running:
            return
        self._rec = _Recorder(_mode.hook, self.record_shapes)
        _mode.hook = self._rec
        self._running = True

    def _stop(self):
        if not self._running:
            return
        rec = self._rec
        if _mode.hook is rec:
            _mode.hook = rec.inner
        else:  # a profiler opened inside and still open: take this one out of the chain
            hook = _mode.hook
            while isinstance(hook, _Recorder) and hook.inner is not rec:
                hook = hook.inner
            if isinstance(hook, _Recorder):
                hook.inner = rec.inner
        self._running = False
        self._collect()

    def _collect(self):
        events = list(self._rec.events) if self._rec is not None else []
        _self_times(events)
        self._events = events

    def events(self) -> EventList:
        """The events, in the order they ended."""
        if self._running:
            raise RuntimeError("Profiler didn't finish running")
        return EventList(self._events)

    @property
    def function_events(self) -> EventList:
        return self.events()

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0,
                     group_by_overload_name=False) -> EventList:
        """One row per op name (and input shapes, when asked): ``key``, ``count``,
        ``cpu_time_total``, ``self_cpu_time_total`` ..."""
        return self.events().key_averages(group_by_input_shape)

    def table(self, sort_by=None, row_limit=100, **kwargs) -> str:
        return self.events().table(sort_by=sort_by, row_limit=row_limit, **kwargs)

    def total_average(self):
        return self.events().total_average()

    @property
    def self_cpu_time_total(self) -> float:
        return self.events().self_cpu_time_total

    def export_chrome_trace(self, path):
        """Write the events as Chrome trace JSON."""
        self.events().export_chrome_trace(path)

    def __str__(self):
        return self.table()


class autograd_profile(_Profile):  # noqa: N801 - it is torch.autograd.profiler.profile
    """``torch.autograd.profiler.profile``: a context manager that records every op run
    in this thread (see the module docstring). ``enabled=False`` records nothing; the
    other arguments are accepted for PyTorch's signature (no memory, FLOP or stack data)."""

    def __init__(self, enabled=True, *, use_cuda=False, use_device=None, record_shapes=False,
                 with_flops=False, profile_memory=False, with_stack=False, with_modules=False,
                 use_kineto=False, use_cpu=True, experimental_config=None, acc_events=False,
                 custom_trace_id_callback=None, post_processing_timeout_s=None,
                 activity_filters=None):
        super().__init__(enabled, record_shapes)

    def __enter__(self):
        self._start()
        return self

    def __exit__(self, *exc):
        self._stop()
        return False


class profile(_Profile):  # noqa: N801 - torch's name
    """``torch.profiler.profile``: records every op run in this thread between ``start()``
    and ``stop()`` (or in a ``with`` block). With a ``schedule``, ``step()`` moves through
    its wait / warmup / active steps; ``on_trace_ready(prof)`` is called at the end of
    each active cycle (and at stop). ``activities`` beyond CPU, memory, FLOP and stack
    options are accepted for PyTorch's signature.

    Example:
        >>> with ge.profiler.profile(activities=[ge.profiler.ProfilerActivity.CPU]) as p:
        ...     model(x)
        >>> print(p.key_averages().table(sort_by="cpu_time_total", row_limit=5))
    """

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None,
                 record_shapes=False, profile_memory=False, with_stack=False, with_flops=False,
                 with_modules=False, experimental_config=None, execution_trace_observer=None,
                 acc_events=False, use_cuda=None, custom_trace_id_callback=None,
                 post_processing_timeout_s=None):
        super().__init__(True, record_shapes)
        self.activities = set(activities) if activities else supported_activities()
        self.schedule = schedule or _default_schedule
        self.on_trace_ready = on_trace_ready
        self.step_num = 0
        self.record_steps = schedule is not None  # ProfilerStep#<n> ranges, as torch's
        self.current_action = self.schedule(0)
        self._started = False
        self._step_range = None

    _ON = (ProfilerAction.WARMUP, ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)
    _SAVED = (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)

    def start(self):
        """Start profiling (what ``with`` does on entry)."""
        self._started = True
        if self.current_action in self._ON:
            self._start()
        self._enter_step()

    def stop(self):
        """Stop profiling; ``on_trace_ready`` is called when a recording step was running."""
        if not self._started:
            return
        self._exit_step()
        self._started = False
        ready = self._running and self.current_action in self._SAVED
        self._stop()
        if ready and self.on_trace_ready is not None:
            self.on_trace_ready(self)

    def step(self):
        """Mark the end of a step: the schedule says what the next one does."""
        self._exit_step()
        prev = self.current_action
        self.step_num += 1
        cur = self.current_action = self.schedule(self.step_num)
        if prev == ProfilerAction.RECORD_AND_SAVE or (prev in self._SAVED and
                                                       cur not in self._SAVED):
            self._stop()
            if self.on_trace_ready is not None:
                self.on_trace_ready(self)
        elif prev == ProfilerAction.WARMUP and cur in self._SAVED:
            self._rec.events.clear()  # what the warm-up steps recorded is not kept
        elif prev == ProfilerAction.WARMUP and cur == ProfilerAction.NONE:
            self._stop()
        if cur in self._ON and not self._running:
            self._start()
        self._enter_step()

    def _enter_step(self):
        if self.record_steps and self._running:
            self._step_range = record_function(f"ProfilerStep#{self.step_num}")
            self._step_range.__enter__()

    def _exit_step(self):
        if self._step_range is not None:
            rng, self._step_range = self._step_range, None
            rng.__exit__(None, None, None)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


class record_function:  # noqa: N801 - torch's name
    """``torch.profiler.record_function(name)``: a range named ``name`` in the profile
    (timed exactly; the ops inside are its children). A context manager and a decorator;
    without a running profiler it costs two clock reads."""

    def __init__(self, name: str, args=None):
        self.name = name
        self.args = args
        self._starts = []

    def __enter__(self):
        recs = _recorders()
        start = _now()
        for rec in recs:
            rec.mark = start
        self._starts.append((recs, start))
        return self

    def __exit__(self, *exc):
        recs, start = self._starts.pop()
        end = _now()
        for rec in recs:
            if rec.recording:
                rec.range(self.name, start, end)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with record_function(self.name, self.args):
                return fn(*args, **kwargs)
        return wrapped


class emit_nvtx:  # noqa: N801 - torch's name
    """``torch.autograd.profiler.emit_nvtx``: accepted, does nothing (no NVTX ranges)."""

    def __init__(self, enabled=True, record_shapes=False):
        self.enabled = enabled

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def tensorboard_trace_handler(dir_name: str, worker_name=None, use_gzip: bool = False):
    """``torch.profiler.tensorboard_trace_handler``: an ``on_trace_ready`` that writes each
    trace as ``<dir_name>/<worker>.<ms>.pt.trace.json`` (gzip-compressed when asked)."""
    import gzip
    import socket

    def handler(prof):
        os.makedirs(dir_name, exist_ok=True)
        worker = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        name = f"{worker}.{time.time_ns() // 1_000_000}.pt.trace.json"
        path = os.path.join(dir_name, name)
        prof.export_chrome_trace(path)
        if use_gzip:
            with open(path, "rb") as f, gzip.open(path + ".gz", "wb") as g:
                g.write(f.read())
            os.remove(path)

    return handler
