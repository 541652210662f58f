"""Reading a py-spy raw profile (collapsed stacks): where a server's CPU goes.

Each line of py-spy's ``--format raw --threads`` output is one distinct
stack, root first, frames separated by ``;``, then the number of samples
that saw it; the root frame names the thread (``thread (TID): name``), the
others read ``function (path:line)``.

py-spy samples the threads it believes active, which is not CPU time: it
takes a thread blocked in C code for an active one (gRPC's poller thread,
waiting in ``epoll_wait``, drew a quarter of the samples while /proc showed
it using 2% of the CPU), and a runnable thread waiting for a core for a
working one (on a loaded machine, the event loop woken from ``select``).
So (:func:`weigh`) samples whose innermost frame is a wait are left out,
and each thread's other samples are weighted by that thread's CPU time read
from /proc over the same window: within a thread, py-spy says where the time
goes; across threads, the kernel says how much each used. Threads py-spy
cannot see (C++ threads: gRPC's event engine, the allocator) keep their
/proc share as one pseudo-frame. Shares are of the process's CPU time.
The views:

- :func:`areas`: the share whose innermost Python frame lies in each area
  (our code, KServe, the HTTP stack, pydantic, gRPC, the event loop...),
  i.e. where the CPU is spent, as self time;
- :func:`candidates`: the share with a frame of each suspect (per-request
  logging, JSON, pydantic, the hop...) anywhere on the stack;
- :func:`inclusive` (and :func:`branches`, without the trunk every sample
  shares): the share with a function anywhere on the stack, its own time
  and everything it calls;
- :func:`self_time`: the share where a function is innermost.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

FRAME = re.compile(r"^(?P<function>.*?) \((?P<path>[^()]*?)(?::(?P<line>\d+))?\)$")
THREAD = re.compile(r"^thread \((?P<tid>\d+)\)(?:: (?P<name>.*))?$")
NATIVE = "<native thread>"
Stack = tuple[list["Frame"], float]

#: (area, path prefixes); the first match names a frame's area. py-spy shortens
#: paths to the package part (``kserve/model_server.py``), ours are repo-relative.
AREAS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ours: transformer/", ("transformer/",)),
    ("ours: serving/", ("serving/",)),
    ("ours: predictor/", ("predictor/",)),
    ("KServe", ("kserve/", "kserve_storage/")),
    ("pydantic", ("pydantic/", "pydantic_core/")),
    ("JSON (orjson, json)", ("orjson/", "json/")),
    ("HTTP server (uvicorn, starlette, fastapi)", ("uvicorn/", "starlette/", "fastapi/", "h11/")),
    ("HTTP client (httpx, httpcore)", ("httpx/", "httpcore/", "anyio/", "sniffio/")),
    ("gRPC", ("grpc/", "grpcio", "google/protobuf/")),
    ("Prometheus client", ("prometheus_client/",)),
    ("logging", ("logging/",)),
    ("numpy", ("numpy/",)),
    ("ONNX Runtime", ("onnxruntime/",)),
    ("event loop (asyncio, uvloop)", ("asyncio/", "uvloop/", "concurrent/", "selectors")),
    ("threads without Python frames (gRPC event engine, allocator)", (NATIVE,)),
)
OTHER = "other (standard library, other packages)"


@dataclass(frozen=True)
class Frame:
    function: str
    path: str

    @property
    def name(self) -> str:
        return f"{self.function} ({self.path})"


def parse_frame(text: str) -> Frame:
    match = FRAME.match(text.strip())
    if not match:
        return Frame(text.strip(), "")
    return Frame(match["function"], match["path"])


def read(path: Path) -> list[tuple[int, list[Frame], int]]:
    """Every ``(thread id, stack, samples)`` of a raw profile, root frame first
    (thread id 0 when the profile was recorded without ``--threads``)."""
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        texts = stack.split(";")
        thread = THREAD.match(texts[0])
        tid = int(thread["tid"]) if thread else 0
        frames = [parse_frame(f) for f in (texts[1:] if thread else texts)]
        stacks.append((tid, frames, int(count)))
    return stacks


#: Innermost frames of a thread that waits rather than works: blocked in the kernel,
#: or runnable and waiting for a core (py-spy counts a runnable thread as active,
#: and on a busy machine a thread woken from epoll waits there for a core).
#: ``Thread.run`` innermost: a thread running C code only (gRPC's poller).
WAITS = frozenset(
    {
        "EpollSelector.select",
        "PollSelector.select",
        "SelectSelector.select",
        "select",
        "poll",
        "sleep",
        "Condition.wait",
        "Event.wait",
        "Thread.run",
        "Thread.join",
        "_wait_for_tstate_lock",
        # C frames, with --native
        "epoll_wait",
        "epoll_pwait",
        "pthread_cond_wait",
        "pthread_cond_timedwait",
        "nanosleep",
        "clock_nanosleep",
    }
)


def waiting(frames: list[Frame]) -> bool:
    return not frames or frames[-1].function in WAITS


def waiting_share(stacks: list[tuple[int, list[Frame], int]]) -> float:
    """The share of samples that :func:`weigh` leaves out as waiting."""
    every = sum(n for _, _, n in stacks)
    return sum(n for _, frames, n in stacks if waiting(frames)) / every if every else 0.0


def weigh(
    stacks: list[tuple[int, list[Frame], int]], cpu: dict[int, tuple[str, float]] | None
) -> list[Stack]:
    """Working stacks, weighted to sum to 1: each thread's samples scaled to its /proc CPU.

    Samples in a wait (:data:`WAITS`) are left out. A thread with CPU time and no
    working sample becomes one pseudo-frame. Without ``cpu`` the samples count alike.
    """
    busy = [(tid, frames, n) for tid, frames, n in stacks if not waiting(frames)]
    samples: Counter[int] = Counter()
    for tid, _, n in busy:
        samples[tid] += n
    if cpu is None:
        grand = sum(samples.values()) or 1
        return [(frames, n / grand) for _, frames, n in busy]
    used = {tid: sec for tid, (_, sec) in cpu.items() if sec > 0}
    grand_cpu = sum(used.values()) or 1.0
    out: list[Stack] = [
        (frames, n / samples[tid] * used.get(tid, 0.0) / grand_cpu) for tid, frames, n in busy
    ]
    for tid in sorted(set(used) - set(samples)):
        out.append(([Frame(f"thread {cpu[tid][0]}", NATIVE)], used[tid] / grand_cpu))
    return out


def area(frame: Frame) -> str:
    path = frame.path.replace("\\", "/")
    for name, prefixes in AREAS:
        if any(path.startswith(p) or f"/{p}" in path for p in prefixes):
            return name
    return OTHER


def _shares(weights: dict[str, float]) -> list[tuple[str, float]]:
    return sorted(weights.items(), key=lambda item: -item[1])


def areas(stacks: list[Stack]) -> list[tuple[str, float]]:
    """Share of CPU by the area of the innermost frame, largest first."""
    weights: defaultdict[str, float] = defaultdict(float)
    for stack, w in stacks:
        weights[area(stack[-1]) if stack else OTHER] += w
    return _shares(weights)


def self_time(stacks: list[Stack]) -> list[tuple[str, float]]:
    weights: defaultdict[str, float] = defaultdict(float)
    for stack, w in stacks:
        if stack:
            weights[stack[-1].name] += w
    return _shares(weights)


def inclusive(stacks: list[Stack]) -> list[tuple[str, float]]:
    """Share of CPU with the function anywhere on the stack (counted once per stack)."""
    weights: defaultdict[str, float] = defaultdict(float)
    for stack, w in stacks:
        for name in {f.name for f in stack}:
            weights[name] += w
    return _shares(weights)


def branches(stacks: list[Stack], trunk: float = 0.8) -> list[tuple[str, float]]:
    """:func:`inclusive` without the trunk: functions on the stack of nearly every sample
    (``trunk`` x the largest share: runpy, the event loop, the server's start)."""
    shares = inclusive(stacks)
    top = shares[0][1] if shares else 0.0
    return [(name, share) for name, share in shares if share < trunk * top]


def has(test: Callable[[Frame], bool]) -> Callable[[list[Frame]], bool]:
    """A stack test: some frame passes ``test``."""
    return lambda stack: any(test(f) for f in stack)


def _endpoint(f: Frame) -> bool:
    return f.function in ("V2Endpoints.infer", "V1Endpoints.predict")


def _http(f: Frame) -> bool:
    return f.function == "RequestResponseCycle.run_asgi"


#: The issue's candidates and what the first profile showed, each a test on the stack.
CANDIDATES: tuple[tuple[str, Callable[[list[Frame]], bool]], ...] = (
    (
        "HTTP handling around KServe's endpoint (uvicorn, middleware, routing, body, response)",
        lambda stack: has(_http)(stack) and not has(_endpoint)(stack),
    ),
    ("KServe's endpoint: data plane and our model", has(_endpoint)),
    (
        "our model's __call__: decode, validate, the hop, the answer",
        has(lambda f: f.function.endswith("Transformer.__call__")),
    ),
    (
        "our decoding and validation (HeartTransformer.preprocess)",
        has(lambda f: f.function == "HeartTransformer.preprocess"),
    ),
    (
        "the hop: our client's infer call to the predictor",
        has(lambda f: f.path == "transformer/client.py" and f.function.endswith(".infer")),
    ),
    (
        "KServe TimingMiddleware: one trace log line per request (PrintTimings)",
        has(lambda f: f.function.startswith("PrintTimings.")),
    ),
    (
        "KServe TimingMiddleware: getrusage per request (timing_asgi get_cpu_time)",
        has(lambda f: f.function == "get_cpu_time"),
    ),
    ("logging, any logger", has(lambda f: f.path.startswith("logging/"))),
    ("pydantic", has(lambda f: f.path.startswith(("pydantic/", "pydantic_core/")))),
    (
        "JSON: orjson, json, FastAPI's jsonable_encoder",
        has(lambda f: f.path.startswith(("orjson/", "json/")) or f.function == "jsonable_encoder"),
    ),
    ("Prometheus client", has(lambda f: f.path.startswith("prometheus_client/"))),
    ("gRPC (client and server, Python side)", has(lambda f: f.path.startswith("grpc/"))),
    (
        "the event loop's own work (asyncio)",
        lambda stack: bool(stack) and area(stack[-1]).startswith("event loop"),
    ),
)


def candidates(stacks: list[Stack]) -> list[tuple[str, float]]:
    """Share of CPU whose stack passes each candidate's test (they may overlap)."""
    return [(label, sum(w for stack, w in stacks if test(stack))) for label, test in CANDIDATES]


def ours_inclusive(stacks: list[Stack]) -> list[tuple[str, float]]:
    """:func:`inclusive` restricted to our own functions (transformer/, serving/, predictor/)."""
    return [
        (name, share)
        for name, share in inclusive(stacks)
        if area(parse_frame(name)).startswith("ours")
    ]


def markdown(stacks: list[Stack], heading: str, preamble: str = "", top: int = 15) -> str:
    """The views as Markdown tables, after ``preamble``."""

    def rows(items: list[tuple[str, float]], limit: int = top) -> list[str]:
        return [f"| {share:.1%} | `{name}` |" for name, share in items[:limit]]

    return "\n".join(
        [
            f"# {heading}",
            "",
            *([preamble, ""] if preamble else []),
            "Shares of the process's CPU time: py-spy's samples of each thread (those in a"
            " wait left out), weighted by that thread's CPU time from /proc.",
            "",
            "## Where the CPU goes (innermost frame's area)",
            "",
            "| share | area |",
            "|---:|---|",
            *rows(areas(stacks)),
            "",
            "## Candidates (a frame of it anywhere on the stack; they overlap)",
            "",
            "| share | candidate |",
            "|---:|---|",
            *[f"| {share:.1%} | {label} |" for label, share in candidates(stacks)],
            "",
            "## Our functions, with what they call (inclusive)",
            "",
            "| share | function |",
            "|---:|---|",
            *rows(ours_inclusive(stacks)),
            "",
            "## Any function, with what it calls (inclusive, without the trunk)",
            "",
            "| share | function |",
            "|---:|---|",
            *rows(branches(stacks), top * 2),
            "",
            "## Innermost functions (self time)",
            "",
            "| share | function |",
            "|---:|---|",
            *rows(self_time(stacks)),
            "",
        ]
    )


def plot_areas(stacks: list[Stack], title: str, path: Path) -> Path:
    """Horizontal bars: the share of CPU samples in each area."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shares = areas(stacks)[::-1]
    fig, ax = plt.subplots(figsize=(9, 0.4 * len(shares) + 1.5))
    bars = ax.barh([name for name, _ in shares], [100 * v for _, v in shares], color="#5aae61")
    ax.bar_label(bars, labels=[f"{100 * v:.1f}%" for _, v in shares], fontsize=8, padding=3)
    ax.set_xlim(0, max(100 * v for _, v in shares) * 1.2 if shares else 1)
    ax.set_xlabel("share of the process's CPU time, by the innermost frame's area")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def thread_cpu(pid: int) -> dict[int, tuple[str, float]]:
    """``{thread id: (name, CPU seconds so far)}`` for every thread of ``pid`` (from /proc)."""
    import psutil

    out = {}
    for t in psutil.Process(pid).threads():
        comm = Path(f"/proc/{pid}/task/{t.id}/comm")
        name = comm.read_text().strip() if comm.is_file() else "?"
        out[t.id] = (name, t.user_time + t.system_time)
    return out


def thread_delta(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> dict[int, tuple[str, float]]:
    """Each thread's CPU seconds between two :func:`thread_cpu` readings."""
    return {
        tid: (name, sec - before.get(tid, (name, 0.0))[1]) for tid, (name, sec) in after.items()
    }


def thread_table(used: dict[int, tuple[str, float]]) -> str:
    """Markdown: each thread's CPU seconds and share of the process's CPU, largest first."""
    total = sum(sec for _, sec in used.values()) or 1.0
    rows = sorted(used.items(), key=lambda item: -item[1][1])
    lines = ["| thread id | name | CPU s | share |", "|---:|---|---:|---:|"]
    lines += [
        f"| {t} | {name} | {sec:.2f} | {sec / total:.1%} |" for t, (name, sec) in rows if sec > 0
    ]
    return "\n".join(lines)
