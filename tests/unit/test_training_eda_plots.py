"""The EDA distributions figure speaks the contract: labels, units, discrete bars, a legend."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.eda_plots import TARGET, distributions_figure
from transformer.contract import BY_NAME, FEATURE_NAMES, FEATURES
from transformer.synthetic import generate

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def panels():
    x = generate(300, seed=4, missing_rate=0.05)
    frame = pd.DataFrame(x, columns=list(FEATURE_NAMES))
    frame[TARGET] = np.random.default_rng(0).integers(0, 2, len(frame))
    figure = distributions_figure(frame, site="Test")
    axes = figure.axes
    by_feature = {f.name: ax for f, ax in zip(FEATURES, axes, strict=False)}
    return frame, by_feature, axes[len(FEATURES) :]


def _ticks(ax) -> list[str]:
    return [t.get_text().replace("\n", " ") for t in ax.get_xticklabels()]


def test_each_panel_is_titled_with_the_contract_label_and_has_a_y_label(panels) -> None:
    _, by_feature, _ = panels
    for name, ax in by_feature.items():
        assert ax.get_title() == f"{BY_NAME[name].label} ({name})"
        assert ax.get_ylabel().startswith("share of class")


def test_categorical_axes_show_the_contract_labels_not_codes(panels) -> None:
    _, by_feature, _ = panels
    for feature in FEATURES:
        if feature.kind == "categorical":
            assert _ticks(by_feature[feature.name]) == list(feature.codes.values())


def test_ca_is_drawn_as_bars_per_vessel_count_with_its_unit(panels) -> None:
    _, by_feature, _ = panels
    ax = by_feature["ca"]
    assert _ticks(ax) == ["0", "1", "2", "3"] and ax.get_xlabel() == "vessels"
    assert len(ax.patches) == 8  # 4 values x 2 classes, no density curve
    for heights in (ax.patches[:4], ax.patches[4:]):  # each class's shares sum to 1
        assert sum(p.get_height() for p in heights) == pytest.approx(1.0)


def test_numeric_panels_carry_the_contract_unit(panels) -> None:
    _, by_feature, _ = panels
    for name in ("age", "trestbps", "chol", "thalach", "oldpeak"):
        assert by_feature[name].get_xlabel() == BY_NAME[name].unit


def test_legend_sits_in_a_panel_and_counts_each_class(panels) -> None:
    frame, _, spare = panels
    legends = [ax.get_legend() for ax in spare if ax.get_legend() is not None]
    assert len(legends) == 1
    texts = [t.get_text() for t in legends[0].get_texts()]
    counts = [int((frame[TARGET] == c).sum()) for c in (0, 1)]
    assert texts == [f"no disease (n = {counts[0]})", f"disease (n = {counts[1]})"]
