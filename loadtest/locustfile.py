"""Locust users for the heart-disease service (run through ``python -m loadtest.run``).

- :class:`TransformerV2User`: v2 REST named columns, single rows and batches,
  plus a share of requests with one invalid row that must get a 400 naming
  the field;
- :class:`TransformerV1User`: v1 ``instances`` records (with missing values);
- :class:`PredictorRestUser`: the predictor's FP32 [N, 13] tensor over v2 REST;
- :class:`PredictorGrpcUser`: the same over v2 gRPC (:mod:`loadtest.grpc_client`).

Every response is checked with ``catch_response``: the right status and a
risk in [0, 1] for every row. :class:`StagesShape` plays the config's
stages; the run stops at the request cap; on quitting, the SLO gate sets
the exit code and writes ``slo.json`` beside the CSV reports.
"""

from __future__ import annotations

import random
from typing import Any

from locust import FastHttpUser, LoadTestShape, User, between, events, task
from locust.env import Environment

from loadtest import config as load_config
from loadtest import hooks, payloads
from loadtest.checks import Expect, check_rows
from transformer.synthetic import generate

MODEL = "heart"
V2 = f"/v2/models/{MODEL}/infer"
V1 = f"/v1/models/{MODEL}:predict"


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    hooks.add_options(parser)


@events.init.add_listener
def _init(environment: Environment, **_: Any) -> None:
    hooks.setup(environment)


def _headers(user: Any) -> dict[str, str]:
    header = user.environment.parsed_options.host_header
    return {"Host": header} if header else {}


class _Http(FastHttpUser):
    abstract = True
    wait_time = between(0.01, 0.1)

    def post(self, path: str, body: Any, name: str, expect: Expect) -> None:
        headers = _headers(self)
        with self.client.post(
            path, json=body, headers=headers, name=name, catch_response=True
        ) as resp:
            problem = check_rows(resp.status_code, resp.text or "", expect)
            if problem:
                resp.failure(problem)
            else:
                resp.success()


def _rows(traffic: load_config.Traffic) -> int:
    if random.random() < traffic.batch_share:
        return random.randint(2, traffic.max_batch_rows)
    return 1


class TransformerV2User(_Http):
    weight = 4

    @task
    def infer(self) -> None:
        traffic = hooks.config(self.environment).traffic
        seed = random.randrange(1 << 30)
        if random.random() < traffic.invalid_share:
            body, field = payloads.invalid_v2(seed)
            self.post(V2, body, "transformer v2 invalid row", Expect(0, "risk", 400, field))
            return
        rows = _rows(traffic)
        name = "transformer v2 1 row" if rows == 1 else "transformer v2 batch"
        self.post(V2, payloads.body("records", rows, seed), name, Expect(rows, "risk"))


class TransformerV1User(_Http):
    weight = 2

    @task
    def predict(self) -> None:
        rows = _rows(hooks.config(self.environment).traffic)
        body = payloads.records_v1_missing(rows, random.randrange(1 << 30))
        self.post(V1, body, "transformer v1", Expect(rows, "v1"))


class PredictorRestUser(_Http):
    weight = 2

    @task
    def infer(self) -> None:
        rows = _rows(hooks.config(self.environment).traffic)
        body = payloads.body("tensor", rows, random.randrange(1 << 30))
        base = self.environment.parsed_options.predictor_host.rstrip("/")
        self.post(base + V2, body, "predictor v2 REST", Expect(rows, "probability"))


class PredictorGrpcUser(User):
    weight = 2
    wait_time = between(0.01, 0.1)

    def on_start(self) -> None:
        from loadtest.grpc_client import GrpcInfer

        self.grpc = GrpcInfer(self.environment.parsed_options.grpc_host, MODEL)

    def on_stop(self) -> None:
        self.grpc.close()

    @task
    def infer(self) -> None:
        rows = _rows(hooks.config(self.environment).traffic)
        matrix = generate(rows, seed=random.randrange(1 << 30))
        self.grpc.call(self.environment, matrix, "predictor v2 gRPC")


class StagesShape(LoadTestShape):
    """The config's ``[[stages]]``, one after the other; ``None`` ends the run."""

    def tick(self) -> tuple[int, float] | None:
        assert self.runner is not None, "Locust sets the runner before the first tick"
        elapsed = float(self.get_run_time())  # type: ignore[no-untyped-call]
        for stage in hooks.config(self.runner.environment).stages:
            if elapsed < stage.duration_s:
                return stage.users, stage.spawn_rate
            elapsed -= stage.duration_s
        return None
