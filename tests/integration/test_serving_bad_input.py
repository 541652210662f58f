"""Bad input through the transformer: 400 / INVALID_ARGUMENT naming the field, never a 500."""

from __future__ import annotations

import asyncio
import json
import math
import time

import grpc
import httpx
import pytest
from kserve import InferenceGRPCClient, InferInput, InferRequest

from tests.integration.serving_fixtures import Server, v2_columns
from transformer.contract import FEATURE_NAMES

pytestmark = pytest.mark.integration

GOOD = {
    "age": 61,
    "sex": 1,
    "cp": 4,
    "trestbps": 140,
    "chol": 260,
    "fbs": 0,
    "restecg": 2,
    "thalach": 120,
    "exang": 1,
    "oldpeak": 2.5,
    "slope": 2,
    "ca": 2,
    "thal": 7,
}
MAX_BATCH = 1024


def with_field(**changes: object) -> dict[str, object]:
    record: dict[str, object] = dict(GOOD)
    for name, value in changes.items():
        if value is _DROP:
            del record[name]
        else:
            record[name] = value
    return record


_DROP = object()

#: v1 records -> words the error must contain.
V1_CASES = {
    "missing required field": ([with_field(age=_DROP)], ["row 0", "'age'", "required"]),
    "unknown field": ([with_field(weight=80)], ["row 0", "'weight'", "not a field"]),
    "out of range": ([with_field(chol=5000)], ["row 0", "'chol'", "out of range", "[80, 700]"]),
    "unknown category code": ([with_field(cp=9)], ["'cp'", "4 (asymptomatic)"]),
    "unknown label": ([with_field(thal="purple")], ["'thal'", "7 (reversible defect)"]),
    "wrong type": ([with_field(age=[61])], ["'age'", "must be a number"]),
    "not an integer": ([with_field(ca=1.5)], ["'ca'", "integer"]),
    "empty batch": ([], ["empty"]),
    "over the size limit": ([GOOD] * (MAX_BATCH + 1), [f"limit is {MAX_BATCH}"]),
    "all problems of a request": (
        [GOOD, with_field(age=10, sex=5), with_field(chol=1)],
        ["3 problems", "row 1, field 'age'", "row 1, field 'sex'", "row 2, field 'chol'"],
    ),
}


@pytest.mark.parametrize("case", list(V1_CASES))
def test_v1_bad_records(transformer_rest: Server, case: str) -> None:
    records, words = V1_CASES[case]
    response = transformer_rest.post("/v1/models/heart:predict", json={"instances": records})
    assert response.status_code == 400, response.text
    for word in words:
        assert word in response.json()["error"]


def v2_body(**changes: object) -> dict:
    return v2_columns([with_field(**changes)])


def tensor(body: dict, name: str) -> dict:
    return next(t for t in body["inputs"] if t["name"] == name)


def v2_cases() -> dict[str, tuple[object, list[str]]]:
    nan = v2_body()
    tensor(nan, "age")["data"] = [math.nan]
    inf = v2_body()
    tensor(inf, "oldpeak")["data"] = [math.inf]
    bytes_numeric = v2_body()
    tensor(bytes_numeric, "chol").update(datatype="BYTES", data=["high"])
    wrong_data = v2_body()
    tensor(wrong_data, "trestbps")["data"] = ["abc"]
    shapes = v2_columns([GOOD, GOOD])
    tensor(shapes, "age").update(shape=[1], data=[50])
    missing = v2_body()
    missing["inputs"] = [t for t in missing["inputs"] if t["name"] != "sex"]
    unknown = v2_body()
    unknown["inputs"].append({"name": "bmi", "datatype": "FP32", "shape": [1], "data": [24]})
    empty = v2_columns([])
    outputs = v2_body() | {"outputs": [{"name": "probability"}]}
    return {
        "NaN where not allowed": (nan, ["'age'", "required"]),
        "inf": (inf, ["'oldpeak'", "finite"]),
        "BYTES for a numeric field": (bytes_numeric, ["'chol'", "datatype"]),
        "data not matching datatype": (wrong_data, ["'trestbps'", "not a number", "'abc'"]),
        "mismatched shapes": (shapes, ["differ in length", "age=1"]),
        "missing field": (missing, ["'sex'", "required"]),
        "unknown field": (unknown, ["'bmi'", "not a field"]),
        "empty batch": (empty, ["empty"]),
        "unknown output": (outputs, ["probability", "risk"]),
        "not v2": ({"instances": [GOOD]}, ["not a valid v2", "inputs"]),
        "inputs not a list": ({"inputs": 3}, ["not a valid v2", "inputs"]),
        "malformed JSON": (b'{"inputs": [', ["malformed JSON"]),
    }


@pytest.mark.parametrize("case", list(v2_cases()))
def test_v2_bad_requests(transformer_rest: Server, case: str) -> None:
    body, words = v2_cases()[case]
    # json.dumps writes NaN and Infinity literals, as numpy-based clients do.
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = transformer_rest.post(
        "/v2/models/heart/infer", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    for word in words:
        assert word in response.json()["error"]


def test_malformed_json_v1(transformer_rest: Server) -> None:
    response = transformer_rest.post(
        "/v1/models/heart:predict",
        content=b"{instances: [",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert "malformed JSON" in response.json()["error"] and "column 2" in response.json()["error"]


def post_json_text(server: Server, path: str, text: str) -> httpx.Response:
    """A body as written by Python's json (NaN / Infinity literals), not httpx's encoder."""
    return server.post(path, content=text.encode(), headers={"content-type": "application/json"})


def test_v1_nan_literal_is_missing_where_allowed(transformer_rest: Server) -> None:
    body = json.dumps({"instances": [with_field(ca=math.nan)]})
    assert post_json_text(transformer_rest, "/v1/models/heart:predict", body).status_code == 200
    body = json.dumps({"instances": [with_field(age=math.nan, chol=math.inf)]})
    response = post_json_text(transformer_rest, "/v1/models/heart:predict", body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert "row 0, field 'age': is required" in error and "field 'chol': must be finite" in error


#: One v2 column changed -> the (row, field, value) the 400 must name.
V2_TYPED_CASES = {
    "UINT8 below 0": ("age", "UINT8", [-1], (0, "age", "-1")),
    "UINT8 above 255": ("chol", "UINT8", [300], (0, "chol", "300")),
    "INT64 overflow": ("thalach", "INT64", [1e30], (0, "thalach", "1e+30")),
    "decimal in INT32 (was truncated)": ("ca", "INT32", [1.5], (0, "ca", "1.5")),
    "decimal age in INT32 (was 17)": ("age", "INT32", [17.9], (0, "age", "17.9")),
    "JSON true (was 1)": ("fbs", "FP32", [True], (0, "fbs", "True")),
}


@pytest.mark.parametrize("case", list(V2_TYPED_CASES))
def test_v2_values_the_datatype_cannot_hold(transformer_rest: Server, case: str) -> None:
    name, datatype, data, (row, field, shown) = V2_TYPED_CASES[case]
    body = v2_body()
    tensor(body, name).update(datatype=datatype, data=data)
    response = transformer_rest.post("/v2/models/heart/infer", json=body)
    assert response.status_code == 400, response.text
    problem = response.json()["problems"][0]
    assert (problem["row"], problem["field"], problem["value"]) == (row, field, shown)
    assert problem["allowed"] and f"row {row}, field '{field}'" in response.json()["error"]


def test_v2_duplicate_input_is_refused(transformer_rest: Server) -> None:
    body = v2_body()
    body["inputs"].append({"name": "age", "datatype": "FP32", "shape": [1], "data": [30]})
    response = transformer_rest.post("/v2/models/heart/infer", json=body)
    assert response.status_code == 400
    assert "field 'age': is given more than once" in response.json()["error"]


def features(data: list, shape: list[int], datatype: str = "FP64") -> dict:
    return {"inputs": [{"name": "features", "datatype": datatype, "shape": shape, "data": data}]}


ROW = [61, 1, 4, 140, 260, 0, 2, 120, 1, 2, 2, 2, 7]
#: Direct predictor requests (path, JSON text) -> words its 400 must contain.
PREDICTOR_CASES = {
    "v1 nested lists (was a 500 from ONNX)": (
        "/v1/models/heart:predict",
        json.dumps({"instances": [[[1]] * 13]}),
        ["row 0, field 'age'", "not a list"],
    ),
    "v1 unknown keys (were dropped)": (
        "/v1/models/heart:predict",
        json.dumps({"instances": [dict(zip(FEATURE_NAMES, ROW, strict=True)) | {"bmi": 24}]}),
        ["row 0, field 'bmi'", "not a feature"],
    ),
    "inf": (
        "/v2/models/heart/infer",
        json.dumps(features([*ROW[:12], math.inf], [1, 13])),
        ["row 0, field 'thal'", "not a finite float32"],
    ),
    "1e40 overflows float32": (
        "/v2/models/heart/infer",
        json.dumps(features([*ROW[:4], 1e40, *ROW[5:]], [1, 13])),
        ["row 0, field 'chol'", "1e+40"],
    ),
    "UINT8 overflow": (
        "/v2/models/heart/infer",
        json.dumps(features([*ROW[:4], 300, *ROW[5:]], [1, 13], "UINT8")),
        ["row 0, field 'chol'", "does not fit UINT8"],
    ),
    "v1 NaN literal is missing": (
        "/v1/models/heart:predict",
        json.dumps({"instances": [[*ROW[:11], math.nan, ROW[12]]]}),
        [],
    ),
}


@pytest.mark.parametrize("case", list(PREDICTOR_CASES))
def test_predictor_refuses_what_it_cannot_score(predictor: Server, case: str) -> None:
    path, text, words = PREDICTOR_CASES[case]
    response = post_json_text(predictor, path, text)
    assert response.status_code == (400 if words else 200), response.text
    for word in words:
        assert word in response.json()["error"]


def test_error_size_is_bounded_and_values_stay_out_of_logs(transformer_rest: Server) -> None:
    sentinel = 987654.25
    records = [dict.fromkeys(FEATURE_NAMES, sentinel)] * MAX_BATCH  # 13 bad fields per row
    logged_before = transformer_rest.log.stat().st_size
    response = transformer_rest.post("/v1/models/heart:predict", json={"instances": records})
    assert response.status_code == 400
    body = response.json()
    assert len(response.content) < 20_000  # was 1.36 MB
    assert body["problem_count"] == MAX_BATCH * 13 and len(body["problems"]) == 20
    assert body["error"].endswith(f"and {MAX_BATCH * 13 - 20} more problems")
    time.sleep(0.2)
    with transformer_rest.log.open("rb") as log:
        log.seek(logged_before)
        new_lines = log.read().decode()
    assert str(sentinel) not in new_lines and len(new_lines) < 5_000  # was a 1.36 MB line
    assert "13312 problem(s) in 1024 rows; fields: age, ca, chol" in new_lines


def test_grpc_invalid_argument_names_fields(transformer_grpc: Server) -> None:
    def column(name: str, datatype: str, values: list) -> InferInput:
        t = InferInput(name, [len(values)], datatype)
        t.data = values
        return t

    request = InferRequest(
        model_name="heart",
        infer_inputs=[
            column("age", "FP32", [math.nan]),
            column("sex", "BYTES", ["robot"]),
            column("cp", "FP32", [math.inf]),
        ],
    )

    async def call() -> grpc.aio.AioRpcError:
        client = InferenceGRPCClient(transformer_grpc.grpc, timeout=10, retries=0)
        try:
            await client.infer(request)
        except grpc.aio.AioRpcError as exc:
            return exc
        finally:
            await client.close()
        raise AssertionError("the transformer accepted a bad request")

    error = asyncio.run(call())
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    for words in ("field 'age'", "field 'sex'", "field 'cp'", "must be finite"):
        assert words in error.details()


def test_predictor_rejects_bad_shape(predictor: Server) -> None:
    body = {
        "inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 12], "data": [1] * 12}]
    }
    response = predictor.post("/v2/models/heart/infer", json=body)
    assert response.status_code == 400
    assert "expected [N, 13]" in response.json()["error"]
    body["inputs"][0].update(datatype="BYTES", data=["x"] * 12)
    assert predictor.post("/v2/models/heart/infer", json=body).status_code == 400


def test_servers_still_healthy_after_bad_input(predictor: Server, transformer_rest: Server) -> None:
    for server in (predictor, transformer_rest):
        assert server.get("/v2/models/heart/ready").status_code == 200
        assert "Traceback" not in server.log.read_text()
    ok = transformer_rest.post("/v1/models/heart:predict", json={"instances": [GOOD]})
    assert ok.status_code == 200
