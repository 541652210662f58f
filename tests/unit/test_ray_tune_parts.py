"""The pure parts of ``make tune``: search space, champion rule, budget, URIs."""

from __future__ import annotations

import pickle
from pathlib import Path

import optuna
import pytest

from training.champion import PromotionRule, Scores, decide
from training.cli import build_parser
from training.pipelines import FAMILIES, build_pipeline
from training.tracking import TrackingSettings
from training.tune import runs as tune_runs
from training.tune import space as search_space
from training.tune.cli import settings as tune_settings
from transformer.synthetic import generate

pytestmark = pytest.mark.unit


def _samples(count: int, seed: int = 0) -> list[dict[str, object]]:
    """Configs drawn by Optuna's TPE from the define-by-run space, as Ray passes them."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed), direction="maximize")
    space = search_space.define_by_run()
    configs = []
    for i in range(count):
        trial = study.ask()
        space(trial)
        study.tell(trial, float(i % 7))  # any score: TPE leaves its start-up phase
        configs.append(search_space.unflatten(trial.params))
    return configs


def test_the_space_survives_pickling_for_resume() -> None:
    """Ray pickles the searcher, space included, into each experiment checkpoint."""
    space = pickle.loads(pickle.dumps(search_space.define_by_run(("logistic_regression",))))
    trial = optuna.create_study().ask()
    space(trial)
    assert search_space.unflatten(trial.params)["family"] == "logistic_regression"


def test_a_sampled_config_holds_its_family_parameters_only() -> None:
    configs = _samples(40)
    assert {c["family"] for c in configs} == set(FAMILIES)
    for config in configs:
        family = config["family"]
        assert set(config) == {"family", family}  # no other family's branch was sampled
        assert set(config[family]) == set(search_space.SPACE[family])  # type: ignore[call-overload,index]


@pytest.mark.parametrize("seed", range(3))
def test_every_sampled_config_builds_and_fits_a_pipeline(seed: int) -> None:
    x = generate(60, seed=seed, missing_rate=0.1)
    y = (x[:, 0] > 54).astype(int)
    for config in _samples(6, seed):
        family, params = search_space.trial_params(config)
        assert set(params) == set(search_space.SPACE[family])
        build_pipeline(family, params, seed=0).fit(x, y)  # sklearn accepts every sampled value


def test_sampled_values_stay_inside_the_documented_ranges() -> None:
    for config in _samples(40, seed=1):
        family, params = search_space.trial_params(config)
        for name, value in params.items():
            param = search_space.SPACE[family][name]
            if param.choices:
                assert value in param.choices
            else:
                assert param.low <= value <= param.high, (name, value)


@pytest.mark.parametrize("where", ["docstring", "docs/ray.md"])
def test_the_documented_tables_are_the_search_space(where: str) -> None:
    page = Path(__file__).resolve().parents[2] / where
    doc = search_space.__doc__ or "" if where == "docstring" else page.read_text()
    for family, name, span, scale in search_space.describe():
        assert f"| {family} | {name} | {span} | {scale} |" in doc


def test_unknown_family_in_a_trial_config_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown family 'svm'"):
        search_space.trial_params({"family": "svm"})


PROTOCOL = (5, 10, 0)
CHAMPION = Scores(roc_auc=0.90, brier=0.130, protocol=PROTOCOL)


@pytest.mark.parametrize(
    ("roc_auc", "brier", "promote"),
    [
        (0.906, 0.129, True),  # better on both
        (0.906, 0.131, False),  # better AUC, worse calibration
        (0.903, 0.120, False),  # gain below the margin
        (0.89, 0.100, False),  # worse AUC
    ],
)
def test_champion_rule(roc_auc: float, brier: float, promote: bool) -> None:
    decision = decide(Scores(roc_auc, brier, PROTOCOL), CHAMPION, PromotionRule(min_gain=0.005))
    assert decision.promote is promote
    assert "ROC-AUC" in decision.reason and "Brier" in decision.reason


def test_the_first_challenger_becomes_champion() -> None:
    assert decide(Scores(0.5, 0.3, PROTOCOL), None).promote


@pytest.mark.parametrize(
    ("champion_protocol", "says"),
    [
        ((3, 1, 0), "champion 3 folds x 1 repeats, seed 0"),
        ((5, 10, 1), "champion 5 folds x 10 repeats, seed 1"),
        (None, "champion not recorded"),
    ],
)
def test_scores_from_different_cv_settings_are_not_compared(
    champion_protocol: tuple[int, int, int] | None, says: str
) -> None:
    champion = Scores(0.80, 0.2, champion_protocol)
    decision = decide(Scores(0.95, 0.1, PROTOCOL), champion)  # far better, but not comparable
    assert not decision.promote
    assert decision.reason == (
        f"not comparable: CV settings differ (challenger 5 folds x 10 repeats, seed 0, {says})"
    )


def test_a_challenger_failing_behavioural_checks_is_never_promoted() -> None:
    failures = ["directional: ca +1 lowers the mean risk (0.5 -> 0.4)"]
    for champion in (None, CHAMPION):
        decision = decide(Scores(0.99, 0.01, PROTOCOL), champion, failures=failures)
        assert not decision.promote
        assert decision.reason == f"the challenger fails behavioural checks: {failures[0]}"


def test_budget_counts_unfinished_and_missing_trials() -> None:
    budget = tune_runs.Budget(num_samples=4, time_budget_s=0)
    assert not budget.incomplete(finished=4, total=4, errors=0)
    assert not budget.incomplete(finished=3, total=4, errors=1)  # an error is final
    assert budget.incomplete(finished=2, total=3, errors=0)  # one still running
    assert budget.incomplete(finished=2, total=2, errors=0)  # stopped between trials
    timed = tune_runs.Budget(num_samples=4, time_budget_s=60)
    assert not timed.incomplete(finished=2, total=2, errors=0)  # the clock ran out


def test_relative_sqlite_store_becomes_absolute_for_the_trials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    local = tune_runs.absolute(TrackingSettings("sqlite:///mlflow.db"))
    assert local.tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"
    server = TrackingSettings("http://mlflow:5000")
    assert tune_runs.absolute(server) == server
    assert tune_runs.storage_uri("s3://bucket/ray") == "s3://bucket/ray"


def test_resume_without_an_experiment_is_a_clear_error(tmp_path: Path) -> None:
    args = build_parser().parse_args(["tune", "--resume", "--storage", str(tmp_path)])
    with pytest.raises(ValueError, match="nothing to resume"):
        tune_runs.experiment_name(tune_settings(args))


def test_cluster_address_comes_from_ray_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "ray://head:10001")
    args = build_parser().parse_args(["tune", "--num-samples", "3", "--time-budget-s", "60"])
    settings = tune_settings(args)
    assert settings.ray.address == "ray://head:10001" and not settings.ray.local
    assert (settings.num_samples, settings.time_budget_s, settings.cv.n_jobs) == (3, 60, 1)
    monkeypatch.delenv("RAY_ADDRESS")
    assert tune_settings(build_parser().parse_args(["tune"])).ray.local


def test_scores_from_other_training_sites_are_not_compared() -> None:
    champion = Scores(0.80, 0.2, PROTOCOL, "cleveland")  # a champion from before pooling
    decision = decide(Scores(0.95, 0.1, PROTOCOL, "cleveland,hungarian"), champion)
    assert not decision.promote
    assert "trained on other sites (challenger cleveland,hungarian, champion cleveland)" in (
        decision.reason
    )
    assert decide(Scores(0.95, 0.1, PROTOCOL, "cleveland"), champion).promote
