"""Each image copies every project module its entry point imports.

The Dockerfiles copy only part of the repository into the image; a module
imported at start-up but not copied would only fail on a cluster. This test
rebuilds the copied tree in a temporary folder and imports the entry point
there, with the editable install of the checkout hidden.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
# What must import inside each image: the server entry point and the modules
# it loads lazily (model loading, the fast path).
ENTRY_MODULES = {
    "predictor/Dockerfile": ["predictor.__main__", "predictor.model", "predictor.engines"],
    "transformer/Dockerfile": ["transformer.__main__", "transformer.model", "transformer.example"],
    # The Ray image (KubeRay RayJob): the driver, the trial code, batch scoring (job + actors).
    "manifests/ray/Dockerfile": [
        "training.cli",
        "training.tune.cli",
        "training.tune.trial",
        "batch.cli",
        "batch.job",
    ],
}
ISOLATED_IMPORT = """
import sys
sys.meta_path = [f for f in sys.meta_path if "editable" not in getattr(f, "__module__", "")]
sys.path = [sys.argv[1]] + [p for p in sys.path if p not in ("", sys.argv[2])]
sys.argv = [sys.argv[0]]
import importlib
"""


def copied_sources(dockerfile: Path) -> list[str]:
    """Project paths the build stage COPYs (not the dependency manifests)."""
    sources = []
    for line in dockerfile.read_text().splitlines():
        words = line.split()
        if not words or words[0] != "COPY" or any(w.startswith("--from") for w in words):
            continue
        paths = [w for w in words[1:] if not w.startswith("--")][:-1]
        sources += [p for p in paths if p not in ("pyproject.toml", "README.md")]
    return sources


@pytest.mark.parametrize("dockerfile", sorted(ENTRY_MODULES))
def test_image_tree_imports_its_entry_point(dockerfile, tmp_path):
    sources = copied_sources(REPO / dockerfile)
    assert sources, f"{dockerfile}: no COPY of project code found"
    for source in sources:
        target = tmp_path / source
        if (REPO / source).is_dir():
            shutil.copytree(REPO / source, target, dirs_exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / source, target)
    imports = "; ".join(f"importlib.import_module({m!r})" for m in ENTRY_MODULES[dockerfile])
    code = ISOLATED_IMPORT + f"\n{imports}\n"
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path), str(REPO)],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
