"""``plot_distribution``: labelled axes, legends, and a log scale that shows no round-off."""

from __future__ import annotations

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pytest
import torch

from biomodels.cascade import (
    CascadeGraph,
    monte_carlo,
    plot_distribution,
    seed_probabilities,
)


@pytest.fixture
def axes():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def test_axes_are_labelled_and_several_curves_get_a_legend(axes):
    plot_distribution({"exact": torch.tensor([0.0, 0.5, 0.5]), "sampled": np.array([0, 0.4, 0.6])},
                      ax=axes, title="t")
    assert axes.get_xlabel() == "final cascade size k (active nodes)"
    assert axes.get_ylabel() == "P(size = k)" and axes.get_title() == "t"
    assert [t.get_text() for t in axes.get_legend().get_texts()] == ["exact", "sampled"]


def test_log_scale_drops_zeros_and_values_below_the_floor(axes):
    values = np.array([0.0, 0.7, 0.2, 0.1 - 2e-14, 2e-14, 1e-17, 3e-16])
    plot_distribution(values, ax=axes, log=True, floor=1e-15)
    curve, line = axes.get_lines()
    y = np.asarray(curve.get_ydata(), dtype=float)
    assert np.isnan(y[[0, 5, 6]]).all() and np.allclose(y[1:5], values[1:5])
    assert axes.get_yscale() == "log" and list(line.get_ydata()) == [1e-15, 1e-15]
    assert "precision floor" in [t.get_text() for t in axes.get_legend().get_texts()]
    # a floor far below every drawn value is not marked: its legend entry named a line
    # outside the axis range
    _, ax = plt.subplots()
    plot_distribution([0.0, 0.7, 0.2, 0.1, 1e-17], ax=ax, log=True, floor=1e-15)
    assert len(ax.get_lines()) == 1 and ax.get_legend() is None
    plt.close(ax.figure)
    # without a floor only the zeros go (a log axis cannot show them)
    _, ax = plt.subplots()
    plot_distribution(values, ax=ax, log=True)
    (curve,) = ax.get_lines()
    assert np.isnan(np.asarray(curve.get_ydata(), dtype=float)).sum() == 1
    plt.close(ax.figure)


def test_log_axis_of_a_long_tail_stops_at_probability_one(axes):
    # autoscaling over 100 decades put the top at 1e3, a tick no probability reaches
    plot_distribution(0.5 ** np.arange(1, 350.0), ax=axes, log=True)
    assert axes.get_ylim()[1] <= 2


@pytest.mark.parametrize("floor", [0.0, -1e-15, float("nan")])
def test_floor_must_be_a_positive_probability(axes, floor):
    with pytest.raises(ValueError, match="floor"):
        plot_distribution([0.5, 0.5], ax=axes, log=True, floor=floor)


def test_a_monte_carlo_result_is_drawn_as_its_distribution(axes):
    # plot_distribution(monte_carlo(...)) failed with "float() argument must be ... not
    # 'MonteCarloResult'"
    from biomodels.cascade import CascadeGraph, monte_carlo

    res = monte_carlo(CascadeGraph.from_edges([(0, 1, 0.5)]), [1.0, 0.0], n_runs=200, seed=0)
    plot_distribution({"mc": res}, ax=axes)
    plot_distribution(res, ax=axes)
    for line in axes.get_lines():
        np.testing.assert_array_equal(line.get_ydata(), res.distribution)


def test_a_curve_that_is_not_a_distribution_leaves_no_figure_open():
    # a 2-D curve failed in matplotlib ("x and y must have same first dimension") after
    # the figure was made, which stayed open; now it is refused by name, before drawing
    plt.close("all")
    with pytest.raises(ValueError, match="'pairs'.*1-D"):
        plot_distribution({"ok": [0.5, 0.5], "pairs": np.full((2, 2), 0.25)})
    with pytest.raises(ValueError):
        plot_distribution({"ok": [0.5, 0.5], "text": ["a", "b"]})
    assert plt.get_fignums() == []


@pytest.mark.parametrize(("curves", "match"), [
    ({}, r"^curves is empty"),
    (np.array([]), r"non-empty 1-D array, got shape \(0,\)"),
    (np.array([0.5, -3.0, 2.0]), r"^curves: 'P\(size = k\)' holds -3\.0 at size 1"),
    (np.array([0.5, 2.0]), r"holds 2\.0 at size 1: expected probabilities in \[0, 1\]"),
    (np.array([np.nan, 1.0]), r"holds nan at size 0"),
    ({"ok": [0.5, 0.5], "tail": torch.tensor([0.5, np.inf])}, r"'tail' holds inf at size 1"),
    (torch.tensor([1.0, -1e-3]), r"holds -0\.001"),
])
def test_a_curve_that_is_no_probability_is_refused_before_making_a_figure(curves, match):
    # before: {} gave an empty axes on a new figure, -3, 2 and NaN were drawn (as a line
    # with a gap on a linear axis too), read as data
    before = plt.get_fignums()
    for log in (False, True):
        with pytest.raises(ValueError, match=match):
            plot_distribution(curves, log=log)
    assert plt.get_fignums() == before


def test_round_off_around_zero_and_one_is_still_drawn(axes):
    # the unit-circle evaluation leaves ~eps sqrt(K) of noise on either side of [0, 1]
    values = np.array([-2e-16, 1.0 + 2e-16, 1e-17])
    plot_distribution(values, ax=axes)
    plot_distribution(torch.tensor([-1e-7, 1.0], dtype=torch.float32), ax=axes, log=True)
    assert len(axes.get_lines()) == 2


def test_curves_differ_in_line_style_not_colour_alone(axes):
    # before: all solid, told apart by the default colours only (green against red among
    # them); a line style each, continued when curves come one call at a time
    plot_distribution({"a": [0.5, 0.5], "b": [0.2, 0.8]}, ax=axes)
    plot_distribution({"c": [0.1, 0.9]}, ax=axes, log=True)
    styles = [line.get_linestyle() for line in axes.get_lines()]
    assert len(set(styles)) == 3


def test_log_axis_says_that_sizes_of_probability_zero_are_not_drawn(axes):
    # before: P = 0 bins left silent gaps in the curve, read as missing data
    plot_distribution([0.0, 0.5, 0.0, 0.5], ax=axes, log=True)
    assert "P = 0, not drawn" in axes.get_ylabel() and "log scale" in axes.get_ylabel()
    _, ax = plt.subplots()
    plot_distribution([0.5, 0.5], ax=ax, log=True)  # nothing hidden: nothing to say
    assert ax.get_ylabel() == "P(size = k), log scale"
    plt.close(ax.figure)


def test_a_figure_made_here_keeps_its_axis_labels_inside():
    # before: the x label was cut off at the bottom of the 6 x 3.5 inch figure
    ax = plot_distribution([0.2, 0.5, 0.3])
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for label in (ax.xaxis.label, ax.yaxis.label):
        box = label.get_window_extent(renderer)
        assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= fig.bbox.width, label
    plt.close(fig)


def test_a_callers_tight_layout_after_the_plot_does_not_warn():
    # a constrained-layout figure warned "The figure layout has changed to tight"
    import warnings

    ax = plot_distribution([0.2, 0.5, 0.3])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax.figure.tight_layout()
    plt.close(ax.figure)


def test_a_title_the_caller_adds_after_the_plot_stays_inside():
    # laid out once when made, the figure cut off a title set afterwards (the constrained
    # layout before that kept it): laid out at each draw, it makes room
    ax = plot_distribution([0.2, 0.5, 0.3])
    ax.set_title("outbreak sizes")
    fig = ax.figure
    fig.canvas.draw()
    assert ax.title.get_window_extent(fig.canvas.get_renderer()).y1 <= fig.bbox.height
    plt.close(fig)


def test_a_point_mass_is_drawn_and_sampled_curves_show_their_intervals(axes):
    # plot_distribution([1.0]) drew nothing (a step of no width); a Monte Carlo curve's
    # Wilson intervals were in distribution.csv only, and its gaps read "P = 0"
    plot_distribution([1.0], ax=axes)
    (dot,) = axes.collections
    assert dot.get_offsets().tolist() == [[0.0, 1.0]]
    g = CascadeGraph.from_networkx(nx.path_graph(4), default=0.3)
    mc = monte_carlo(g, seed_probabilities(g, seeds=[0]), n_runs=200, seed=0)
    _, ax = plt.subplots()
    plot_distribution({"sampled": mc}, ax=ax, log=True)
    assert "never sampled" in ax.get_ylabel()
    assert "sampled: 95 % Wilson interval" in [t.get_text() for t in ax.get_legend().get_texts()]
    plt.close(ax.figure)


def _fit_figure():
    """cascade fit's fit.png as the command draws it: observed outbreaks (a sample, with
    their band) against a fitted distribution, linear and log panels under a suptitle."""
    from biomodels.cascade import MonteCarloResult, expected_tv_error

    sizes = np.array([1] * 35 + [2] * 27 + [3] * 2 + [4] * 6 + [5] * 6 + [6] * 5 + [7] * 3
                     + [25, 27, 28, 30, 33, 33, 35, 40, 45, 51, 52, 66])
    frequency = np.bincount(sizes, minlength=301) / sizes.size
    observed = MonteCarloResult(sizes, frequency, expected_tv_error(frequency, sizes.size))
    k = np.arange(301)
    fitted = np.where(k < 9, 0.6 ** k, 0.0) + 1e-2 * np.exp(-((k - 35) / 12.0) ** 2)
    fitted[0] = 0.0
    fitted = np.where(fitted > 1e-16, fitted, 0.0)
    fitted /= fitted.sum()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    fig.suptitle("outbreak sizes: observed and fitted (w = 0.4406)")
    curves = {f"observed ({sizes.size} outbreaks)": observed, "fitted (w = 0.4406, exact)": fitted}
    plot_distribution(curves, ax=axes[0], title="where the mass is")
    plot_distribution(curves, ax=axes[1], log=True, floor=1e-14,
                      title="log scale, all sizes (tail)")
    fig.tight_layout()
    fig.canvas.draw()
    return fig, axes[1]


def test_log_panel_label_of_gaps_fits_the_figure_and_the_legend_leaves_the_data_visible():
    # before: the y label "(gaps: never sampled or below the floor, not drawn)" was taller
    # than the 3.8-inch figure of cascade fit (cut off at the bottom, run into the
    # suptitle), and the legend, fixed at the upper right for sampled curves, covered the
    # observed outbreaks at sizes 25-66 (P = 0.01)
    fig, ax = _fit_figure()
    try:
        renderer = fig.canvas.get_renderer()
        label = ax.yaxis.label.get_window_extent(renderer)
        assert label.y0 >= 0 and label.y1 <= fig.bbox.height
        assert label.y1 <= fig._suptitle.get_window_extent(renderer).y0
        assert "never sampled or" in ax.get_ylabel() and "not drawn" in ax.get_ylabel()
        legend = ax.get_legend().get_window_extent(renderer)
        points = [line.get_xydata() for line in ax.get_lines()[:1]]  # the observed steps
        points += [c.get_offsets() for c in ax.collections if len(c.get_offsets()) > 1]
        xy = np.vstack(points).astype(float)
        xy = ax.transData.transform(xy[np.isfinite(xy).all(axis=1)])
        inside = ((xy[:, 0] > legend.x0) & (xy[:, 0] < legend.x1)
                  & (xy[:, 1] > legend.y0) & (xy[:, 1] < legend.y1))
        assert not inside.any()
    finally:
        plt.close(fig)
    # each variant of the label fits a figure made here
    g = CascadeGraph.from_networkx(nx.path_graph(4), default=0.3)
    mc = monte_carlo(g, seed_probabilities(g, seeds=[0]), n_runs=200, seed=0)
    for curve, floor in ((mc, None), (mc, 1e-15), ([0.5, 0.0, 0.5], 1e-15),
                         ([0.5, 0.0, 0.5], None)):
        ax = plot_distribution(curve, log=True, floor=floor)
        ax.figure.canvas.draw()
        label = ax.yaxis.label.get_window_extent(ax.figure.canvas.get_renderer())
        assert label.y0 >= 0 and label.y1 <= ax.figure.bbox.height, ax.get_ylabel()
        assert "not drawn" in ax.get_ylabel()
        plt.close(ax.figure)
