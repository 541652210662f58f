"""`python -m training` flags, environment defaults and the data command (in-process)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from training import cli, flags
from training.sites import external_sites

pytestmark = pytest.mark.unit

CLEVELAND = "processed.cleveland.data"


def test_train_defaults_are_the_make_train_configuration(monkeypatch) -> None:
    for name in ("HEART_DATA_SOURCE", "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(name, raising=False)
    args = cli.build_parser().parse_args(["train"])
    cv = flags.cv_settings(args)
    assert (cv.folds, cv.repeats, cv.seed) == (5, 10, 0)
    assert args.families == ("random_forest", "logistic_regression", "gradient_boosting")
    assert args.train_sites == ("cleveland", "hungarian")
    assert args.missing == ("indicator", "drop") and args.calibration == "sigmoid"
    assert args.external_sites == ("cleveland", "hungarian", "switzerland", "va")
    assert external_sites(args.external_sites, args.train_sites) == ("switzerland", "va")
    assert args.source is None and args.alias == "champion"
    assert cli.build_parser().parse_args(["train", "--external-sites", ""]).external_sites == ()
    assert flags.tracking_settings(args).tracking_uri == "sqlite:///mlflow.db"
    assert flags.tracking_settings(args).embedded


def test_environment_supplies_defaults_and_flags_win(monkeypatch) -> None:
    monkeypatch.setenv("HEART_DATA_SOURCE", "/mirror")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "heart-ci")
    args = cli.build_parser().parse_args(["train"])
    tracking = flags.tracking_settings(args)
    assert args.source == "/mirror"
    assert (tracking.tracking_uri, tracking.experiment) == ("http://127.0.0.1:5000", "heart-ci")
    assert not tracking.embedded
    flagged = cli.build_parser().parse_args(["train", "--source", "/other", "--experiment", "x"])
    assert (flagged.source, flagged.experiment) == ("/other", "x")


def test_hyper_parameter_overrides_parse_json_values() -> None:
    sets = [
        "random_forest.n_estimators=50",
        "random_forest.max_depth=null",
        "logistic_regression.C=0.5",
    ]
    args = cli.build_parser().parse_args(["train", *(w for s in sets for w in ("--set", s))])
    assert args.assignments == [
        ("random_forest", "n_estimators", 50),
        ("random_forest", "max_depth", None),
        ("logistic_regression", "C", 0.5),
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--set", "boosting.depth=3"], "argument --set: 'boosting.depth=3': expected"),
        (["train", "--families", "svm"], "argument --families: unknown family 'svm': choose"),
        (["data", "--sites", "ohio"], "argument --sites: unknown site 'ohio'"),
    ],
)
def test_bad_flags_exit_with_a_usage_error(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.build_parser().parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.fixture
def mirror(data_source: str, tmp_path: Path) -> Path:
    if "://" in data_source:
        pytest.skip("needs a mirror folder")
    folder = tmp_path / "mirror"
    folder.mkdir()
    shutil.copy(Path(data_source) / CLEVELAND, folder / CLEVELAND)
    return folder


def test_data_reports_absent_sites_and_succeeds(mirror: Path, tmp_path: Path, capsys) -> None:
    code = cli.main(["data", "--source", str(mirror), "--cache-dir", str(tmp_path / "c")])
    out = capsys.readouterr().out
    assert code == 0
    assert "verified" in out and "absent" in out
    assert (tmp_path / "c" / CLEVELAND).is_file()


def test_data_fails_when_a_required_site_is_absent(mirror: Path, tmp_path: Path, capsys) -> None:
    argv = ["data", "--source", str(mirror), "--cache-dir", str(tmp_path / "c"), "--require", "va"]
    assert cli.main(argv) == 1
    assert "required site(s) absent: va" in capsys.readouterr().err


def test_corrupt_file_is_a_one_line_error_and_no_cache(mirror: Path, tmp_path: Path, capsys):
    lines = (mirror / CLEVELAND).read_text().splitlines()
    lines[99] = lines[99].replace(",", ",x", 1)
    (mirror / CLEVELAND).write_text("\n".join(lines) + "\n")
    code = cli.main(["data", "--source", str(mirror), "--cache-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err.startswith("error: processed.cleveland.data line 100 column 2 (sex):")
    assert "\n" not in err
    assert not (tmp_path / "c" / CLEVELAND).exists()
