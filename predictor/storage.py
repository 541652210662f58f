"""Bring ``model/`` to a local directory: a path as is, a URI through kserve-storage.

kserve-storage reads its own environment (``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``, ``S3_CONNECT_TIMEOUT``, ``S3_READ_TIMEOUT``,
``S3_MAX_ATTEMPTS``, ``GOOGLE_APPLICATION_CREDENTIALS``...), as KServe's
storage initializer does in a cluster.

``pvc://<claim>/<path>`` is not a kserve-storage scheme: in a cluster KServe
mounts the claim itself (at ``/mnt/pvc``, where the storage initializer
reads ``/mnt/pvc/<path>``, or directly at ``/mnt/models``). Here it maps to
``<pvc_mount_path>/<path>``, so a container started by hand with the claim
mounted at ``/mnt/pvc`` reads the same files.

Remote downloads run in a daemon thread bounded by ``timeout`` seconds: a
storage client that hangs (gs:// with no route to Google, for one) leaves
the predictor not ready with a reason instead of hanging its start-up.
"""

from __future__ import annotations

import threading
from pathlib import Path

PVC_PREFIX = "pvc://"
#: Default bound on a remote download (``--storage_timeout_seconds``).
DEFAULT_TIMEOUT_SECONDS = 300.0
#: Where KServe mounts a pvc:// source for the storage initializer.
PVC_MOUNT_PATH = "/mnt/pvc"


class StorageError(RuntimeError):
    """The model directory could not be fetched.

    The message is safe for any client (no address, no credentials); ``detail``
    is the storage client's own words, for the operator's log.
    """

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


def is_remote(uri: str) -> bool:
    return "://" in uri and not uri.startswith(("file://", PVC_PREFIX))


def pvc_path(uri: str, mount_path: str = PVC_MOUNT_PATH) -> Path:
    """``pvc://claim/some/dir`` -> ``<mount_path>/some/dir``."""
    claim, _, path = uri.removeprefix(PVC_PREFIX).partition("/")
    if not claim:
        raise StorageError(f"{uri}: expected pvc://<claim>/<path>")
    return Path(mount_path) / path


def local_path(uri: str, pvc_mount_path: str = PVC_MOUNT_PATH) -> Path:
    """The directory a local (path, file://, pvc://) ``uri`` names."""
    if uri.startswith(PVC_PREFIX):
        return pvc_path(uri, pvc_mount_path)
    return Path(uri.removeprefix("file://"))


def fetch(
    uri: str,
    out_dir: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    pvc_mount_path: str = PVC_MOUNT_PATH,
) -> Path:
    """The local directory holding ``uri``'s files (downloaded when remote).

    Raises :class:`StorageError` (whatever the storage client raised, or a
    timeout) with a one-line reason.
    """
    if not is_remote(uri):
        return local_path(uri, pvc_mount_path)
    result: dict[str, object] = {}
    worker = threading.Thread(
        target=_download, args=(uri, out_dir, result), name="model-download", daemon=True
    )
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise StorageError(f"the download did not finish within {timeout:g} s")
    error = result.get("error")
    if isinstance(error, BaseException):
        raise StorageError(f"the download failed ({type(error).__name__})", one_line(error))
    return Path(str(result["path"]))


def _download(uri: str, out_dir: Path | None, result: dict[str, object]) -> None:
    try:
        from kserve_storage import Storage

        result["path"] = Storage.download(uri, str(out_dir) if out_dir else None)
    except BaseException as exc:  # even SystemExit: reported, never raised in this thread
        result["error"] = exc


def one_line(exc: BaseException) -> str:
    """``Type: message`` on one line (storage clients like multi-line messages)."""
    text = " ".join(str(exc).split()) or "(no message)"
    return f"{type(exc).__name__}: {text[:500]}"
