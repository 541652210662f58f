"""What the benchmark ran on: CPU model, cores, memory, software versions."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

PACKAGES = ("kserve", "scikit-learn", "onnxruntime", "skl2onnx", "numpy")


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def describe_machine() -> dict[str, Any]:
    cores = os.cpu_count() or 0
    memory = psutil.virtual_memory().total / 2**30
    return {
        "cpu": cpu_model(),
        "cores": cores,
        "memory_gib": round(memory, 1),
        "summary": f"{cores} cores ({cpu_model()}), {memory:.0f} GiB, {platform.system()}",
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in PACKAGES},
        "mlserver": "1.7.1 (own virtualenv, mlserver-sklearn 1.7.1, uvloop 0.21.0)",
        "load_average_at_start": load_average(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "code": code_version(),
    }


def code_version() -> str:
    """The commit measured, ``+changes`` when the work tree differs from it ("" outside git)."""
    here = Path(__file__).resolve().parent

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=here, capture_output=True, text=True, timeout=10, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    return commit + ("+changes" if commit and git("status", "--porcelain") else "")


def load_average() -> list[float]:
    """1, 5 and 15-minute load averages: how busy the shared machine was."""
    return [round(x, 2) for x in os.getloadavg()]
