"""A Ray cluster on other machines is refused when the job's MLflow store or
model directory exists only on this machine; a cluster on this machine is not."""

from __future__ import annotations

import pytest

from training.ray_cluster.reach import (
    UnreachableError,
    address_host,
    check_address,
    check_nodes,
    local_only,
    this_machine,
)
from training.tracking import TrackingSettings

pytestmark = pytest.mark.unit

EMBEDDED = local_only(TrackingSettings("sqlite:////work/mlflow.db"))


@pytest.mark.parametrize(
    ("address", "host"),
    [
        ("ray://head.example:10001", "head.example"),
        ("10.1.2.3:6379", "10.1.2.3"),
        ("127.0.0.1:6379", "127.0.0.1"),
        ("localhost:6379", "localhost"),
        ("auto", None),
    ],
)
def test_the_machine_an_address_names(address: str, host: str | None) -> None:
    assert address_host(address) == host


def test_stores_only_this_machine_reaches() -> None:
    assert EMBEDDED == {"the embedded MLflow store": "sqlite:////work/mlflow.db"}
    assert list(local_only(TrackingSettings("http://localhost:5000"))) == [
        "the MLflow server on this machine's loopback"
    ]
    assert local_only(TrackingSettings("http://mlflow.heart.svc:5000")) == {}


@pytest.mark.parametrize("address", ["ray://head.example:10001", "10.1.2.3:6379"])
def test_a_cluster_elsewhere_with_the_embedded_store_is_refused_in_one_line(address: str) -> None:
    with pytest.raises(UnreachableError) as err:
        check_address(address, EMBEDDED)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"the Ray cluster at {address} runs work on other machines")
    assert "sqlite:////work/mlflow.db" in message and "MLFLOW_TRACKING_URI" in message


@pytest.mark.parametrize("address", ["127.0.0.1:6379", "localhost:6379", "auto", None])
def test_a_cluster_on_this_machine_may_use_local_stores(address: str | None) -> None:
    check_address(address, EMBEDDED)


def test_a_tracking_server_lets_any_cluster_through() -> None:
    check_address("ray://head.example:10001", {})
    check_nodes("Ray cluster at auto", ["10.9.9.9"], {})


def test_nodes_on_other_machines_are_refused_once_connected() -> None:
    here = sorted(this_machine())[0]
    check_nodes("Ray cluster at auto", [here, "127.0.0.1"], EMBEDDED)
    with pytest.raises(UnreachableError, match=r"auto \(nodes on 10\.9\.9\.9\) runs work"):
        check_nodes("Ray cluster at auto", [here, "10.9.9.9"], EMBEDDED)
