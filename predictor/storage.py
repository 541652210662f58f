"""Bring ``model/`` to a local directory: a path as is, a URI through kserve-storage.

kserve-storage reads its own environment (``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``, ``GOOGLE_APPLICATION_CREDENTIALS``...), as KServe's
storage initializer does in a cluster.
"""

from __future__ import annotations

from pathlib import Path


def is_remote(uri: str) -> bool:
    return "://" in uri and not uri.startswith("file://")


def fetch(uri: str, out_dir: Path | None = None) -> Path:
    """The local directory holding ``uri``'s files (downloaded when remote)."""
    if not is_remote(uri):
        return Path(uri.removeprefix("file://"))
    from kserve_storage import Storage

    return Path(Storage.download(uri, str(out_dir) if out_dir else None))
