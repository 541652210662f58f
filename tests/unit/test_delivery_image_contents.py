"""Each image copies every project module its entry point imports.

The Dockerfiles copy only part of the repository into the image; a module
imported at start-up but not copied would only fail on a cluster. This test
rebuilds the copied tree in a temporary folder and imports the entry point
there, with the editable install of the checkout hidden.
"""

import re
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
    "predictor": ["predictor.__main__", "predictor.model", "predictor.fastpath"],
    "transformer": ["transformer.__main__", "transformer.model", "transformer.example"],
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
        match = re.match(r"COPY\s+(?!--from)(.+)\s+\S+$", line.strip())
        if match:
            sources += [
                s for s in match.group(1).split() if s not in ("pyproject.toml", "README.md")
            ]
    return sources


@pytest.mark.parametrize("component", sorted(ENTRY_MODULES))
def test_image_tree_imports_its_entry_point(component, tmp_path):
    for source in copied_sources(REPO / component / "Dockerfile"):
        target = tmp_path / source
        if (REPO / source).is_dir():
            shutil.copytree(REPO / source, target, dirs_exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / source, target)
    imports = "; ".join(f"importlib.import_module({m!r})" for m in ENTRY_MODULES[component])
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
