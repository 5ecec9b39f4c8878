"""Figures: the theta heatmap and the order-probability bars."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from biomodels.ctmc import block_theta, plot_order_probabilities, plot_theta  # noqa: E402


def test_theta_heatmap_is_centred_labelled_and_sets_the_diagonal_apart():
    theta, names = block_theta(3, blocks="synth5", seed=0)
    ax = plot_theta(pd.DataFrame(theta, index=names, columns=names))
    try:
        image = ax.images[0]
        low, high = image.get_clim()
        assert low == -high == -4.0  # signed effects: a scale centred on 0
        assert ax.get_xlabel() == "influencing event j" and ax.get_ylabel() == "affected event i"
        assert [t.get_text() for t in ax.get_yticklabels()] == names
        colorbar = ax.figure.axes[-1]
        assert "theta[i, j]" in colorbar.get_ylabel()  # the colour bar says what it shows
        # the diagonal (log base rates) is masked and drawn grey, unlike a zero effect
        assert np.isnan(np.diag(image.get_array().filled(np.nan))).all()
        bad = image.get_cmap().get_bad()
        assert tuple(bad[:3]) != tuple(image.get_cmap()(0.5)[:3])
        texts = [t.get_text() for t in ax.texts]
        assert texts[0] == "0.0" and texts[1] == "-3.0"
        # a base rate that rounds to zero from below is printed 0.0, not -0.0
        tiny = plot_theta(np.diag([-0.01, 1.0]))
        assert tiny.texts[0].get_text() == "0.0"
        plt.close(tiny.figure)
    finally:
        plt.close(ax.figure)


def test_theta_heatmap_of_many_events_keeps_a_readable_size():
    ax = plot_theta(np.zeros((200, 200)))
    try:
        width, height = ax.figure.get_size_inches()
        assert width <= 13 and height <= 12  # was 72 x 72 inches at 200 events
        # every 5th event named (40 names), where position numbers alone were shown
        assert "(1 in 5 named)" in ax.get_xlabel() and "(1 in 5 named)" in ax.get_ylabel()
        assert [t.get_text() for t in ax.get_xticklabels()][:3] == ["E0", "E5", "E10"]
        assert len(ax.get_yticklabels()) == 40
    finally:
        plt.close(ax.figure)


def test_theta_heatmap_lays_itself_out_and_keeps_infinite_effects_on_the_scale(tmp_path):
    # a plain savefig cut the axis labels off (no layout engine), and an infinite effect
    # was masked grey like the diagonal's base rates; a NaN one too, unexplained
    theta = np.diag([-1.0, -2.0, -3.0])
    theta[0, 1], theta[1, 0], theta[2, 0], theta[0, 2] = np.inf, -np.inf, 0.5, np.nan
    names = ["CDKN2A/B homozygous deletion", "TERT promoter (C228T)", "IDH1"]
    ax = plot_theta(theta, names=names)
    try:
        ax.figure.savefig(tmp_path / "t.png")
        renderer = ax.figure.canvas.get_renderer()
        box = ax.xaxis.label.get_window_extent(renderer)
        assert box.y0 >= 0  # inside the figure
        shown = ax.images[0].get_array()
        assert shown[0, 1] == 0.5 and shown[1, 0] == -0.5  # the ends of the scale
        assert np.ma.is_masked(shown[0, 2]) and "grey off the diagonal: NaN" in ax.get_title()
    finally:
        plt.close(ax.figure)


def test_order_probability_bars_end_at_zero_and_one_and_keep_a_bounded_width():
    # a bar past 1 was cut at the axis without its cap; 50 pairs gave a 42-inch figure
    ax = plot_order_probabilities(["A before B", "B before C"], [0.95, 0.03], [0.1, 0.1])
    try:
        from matplotlib.container import ErrorbarContainer

        bars = next(c for c in ax.containers if isinstance(c, ErrorbarContainer))
        segments = bars.lines[2][0].get_segments()
        assert tuple(segments[0][:, 1]) == pytest.approx((0.85, 1.0))
        assert tuple(segments[1][:, 1]) == pytest.approx((0.0, 0.13))
    finally:
        plt.close(ax.figure)
    ax = plot_order_probabilities([f"p{i}" for i in range(50)], np.full(50, 0.5))
    try:
        assert ax.figure.get_size_inches()[0] <= 16
    finally:
        plt.close(ax.figure)


def test_order_probability_bars_have_a_labelled_probability_axis():
    ax = plot_order_probabilities(["A before B", "B before C"], [0.9, 0.4], [0.05, 0.1])
    try:
        assert "P(a before b" in ax.get_ylabel()
        assert ax.get_ylim() == (0.0, 1.0)
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0.5: no preferred order"]
    finally:
        plt.close(ax.figure)


def test_theta_heatmap_scale_ignores_infinite_effects():
    # an inf effect made the limit inf: a meaningless colour bar and every finite effect
    # drawn at the end of the scale
    ax = plot_theta(np.array([[0.0, np.inf, 0.5], [-2.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    try:
        assert ax.images[0].get_clim() == (-2.0, 2.0)
    finally:
        plt.close(ax.figure)


def test_theta_heatmap_names_its_argument_when_names_or_shape_do_not_fit():
    with pytest.raises(ValueError, match="names"):
        plot_theta(np.zeros((3, 3)), names=["a", "b"])
    with pytest.raises(ValueError, match="theta"):
        plot_theta(np.zeros((2, 3)))
    plt.close("all")


def test_order_probability_labels_stay_inside_the_figure():
    # the docstring's own label was cut off at the bottom of a saved figure
    ax = plot_order_probabilities(["TP53 before IDH1", "IDH1 before ATRX"], [0.8, 0.3])
    try:
        fig = ax.figure
        fig.canvas.draw()
        box = fig.get_tightbbox(fig.canvas.get_renderer())
        assert box.y0 >= 0 and box.x0 >= 0
        assert box.x1 <= fig.get_figwidth() and box.y1 <= fig.get_figheight()
    finally:
        plt.close(ax.figure)


def test_theta_heatmap_puts_a_planted_effect_under_its_labels_whatever_the_column_order():
    # only TP53 (j) promotes IDH1 (i): theta[IDH1, TP53] = 2. A frame sorted by its index
    # (theta_frame().sort_index()) keeps the old column order, and the columns were labelled
    # with the index's names: the cell sat under EGFR, the effect read from the wrong event
    names = ["TP53", "IDH1", "EGFR"]
    theta = pd.DataFrame(-np.eye(3), index=names, columns=names)
    theta.loc["IDH1", "TP53"] = 2.0
    for frame in (theta, theta.sort_index(), theta.loc[["EGFR", "TP53", "IDH1"], names]):
        ax = plot_theta(frame)
        try:
            rows = [t.get_text() for t in ax.get_yticklabels()]
            cols = [t.get_text() for t in ax.get_xticklabels()]
            (r, c), = np.argwhere(np.nan_to_num(ax.images[0].get_array().filled(0)) > 0)
            assert (rows[r], cols[c]) == ("IDH1", "TP53")
        finally:
            plt.close(ax.figure)
    with pytest.raises(ValueError, match="columns"):
        plot_theta(theta.set_axis(["a", "b", "c"], axis=1))


def test_theta_heatmap_limit_must_be_positive():
    theta = np.array([[-1.0, 0.5], [-0.5, -2.0]])
    for bad in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="limit"):
            plot_theta(theta, limit=bad)
    ax = plot_theta(theta, limit=2)
    assert ax.images[0].get_clim() == (-2.0, 2.0)
    plt.close("all")


def test_a_callers_tight_layout_after_the_order_bars_does_not_warn():
    # made with constrained layout, a later fig.tight_layout() warned of a layout change
    ax = plot_order_probabilities(["TP53 before IDH1", "IDH1 before ATRX"], [0.8, 0.3])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ax.figure.tight_layout()
    finally:
        plt.close(ax.figure)


@pytest.mark.parametrize(("args", "match"), [
    ((["a", "b"], [0.3]), r"^means: expected one probability per label \(2 labels\)"),
    ((["a"], [0.3, 0.6], [0.1]), r"^means: .*\(1 labels\), got shape \(2,\)"),
    ((["a", "b"], [0.3, 0.6], [0.1]), r"^errors: expected one half-length per label"),
    ((["a", "b"], [0.3, 1.7]), r"^means\[1\] = 1\.7 \('b'\) is outside \[0, 1\]"),
    ((["a", "b"], [-0.1, 0.5]), r"^means\[0\] = -0\.1"),
    ((["a", "b"], [0.3, np.inf]), r"^means\[1\] = inf"),
    ((["a", "b"], [0.3, 0.6], [0.1, -0.2]), r"^errors\[1\] = -0\.2: expected a finite"),
    ((["a", "b"], [0.3, 0.6], [np.nan, 0.1]), r"^errors\[0\] = nan"),
    (([], []), r"^labels is empty"),
])
def test_order_bars_refuse_mismatched_or_improper_inputs_before_making_a_figure(args, match):
    # before: one mean was broadcast over two labels, two bars got one label, and a mean of
    # 1.7 was cut off at the axis limit, each without a word
    before = plt.get_fignums()
    with pytest.raises(ValueError, match=match):
        plot_order_probabilities(*args)
    assert plt.get_fignums() == before  # no stray figure


def test_order_bars_mark_a_nan_probability_as_missing_not_zero():
    # NaN is order_probability's answer for two events never observed together: no bar
    # (as before), marked n/a so it is not read as P = 0; its error bar may be NaN too
    ax = plot_order_probabilities(["a", "b", "c"], [0.3, np.nan, 0.0], [0.1, np.nan, 0.0])
    try:
        assert [t.get_text() for t in ax.texts] == ["n/a"]
        assert ax.texts[0].get_position()[0] == 1
    finally:
        plt.close(ax.figure)


def _crowded_neighbours(ax):
    """Pairs of neighbouring tick labels that overlap, for labels turned by one angle.

    Turned labels are parallel strips a line high: neighbours ``d`` apart along the axis are
    ``d sin(angle)`` apart across the strips, which must be at least a line's height.
    """
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    labels = [t for t in ax.get_xticklabels() if t.get_text()]
    angle = np.deg2rad(labels[0].get_rotation())
    labels[0].set_rotation(0)
    height = labels[0].get_window_extent(renderer).height  # one line, unturned
    labels[0].set_rotation(np.rad2deg(angle))
    x = [ax.transData.transform((tick, 0))[0] for tick in ax.get_xticks()]
    return [(a, b) for a, b in zip(range(len(x)), range(1, len(x)))
            if (x[b] - x[a]) * np.sin(angle) < height]


def test_order_bars_of_many_pairs_name_every_kth_pair_without_overlap():
    # 105 pairs of 15 events: all 105 labels on 16 inches, 0.07 inch apart across the
    # turned text for 8-pt lines, an illegible overlap; now every k-th pair is named (as
    # plot_theta names every k-th event), and the x label says so. Every bar is drawn
    import itertools

    events = [f"E{i}(M)" for i in range(15)]
    labels = [f"{a} before {b}" for a, b in itertools.combinations(events, 2)]
    assert len(labels) == 105
    ax = plot_order_probabilities(labels, np.linspace(0, 1, 105))
    try:
        assert _crowded_neighbours(ax) == []
        step = int(ax.get_xticks()[1])
        assert step > 1 and ax.get_xlabel() == f"pair (1 in {step} named)"
        assert [t.get_text() for t in ax.get_xticklabels()] == labels[::step]
        assert len(ax.patches) == 105
    finally:
        plt.close(ax.figure)
    # 20 pairs keep a name each, and no x label
    ax = plot_order_probabilities(labels[:20], np.full(20, 0.5))
    try:
        assert [t.get_text() for t in ax.get_xticklabels()] == labels[:20]
        assert ax.get_xlabel() == "" and _crowded_neighbours(ax) == []
    finally:
        plt.close(ax.figure)


@pytest.mark.parametrize(("theta", "extend"), [
    ([[0.0, 3.0], [-0.5, 0.0]], "max"),
    ([[0.0, -3.0], [0.5, 0.0]], "min"),
    ([[0.0, 3.0], [-2.0, 0.0]], "both"),
    ([[9.0, 0.5], [-0.5, -9.0]], "neither"),  # the diagonal is not on the scale
    ([[0.0, 0.5, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [2.0, 0.0, 0.0]], "max"),  # omega
])
def test_theta_heatmap_colour_bar_points_where_effects_exceed_the_limit(theta, extend):
    # before: with limit=1 an effect of 3 took the end colour of 1 without a word (the
    # colour bar's extend stayed "neither"); now its pointed end marks the clipped side
    ax = plot_theta(np.array(theta), limit=1.0)
    try:
        assert ax.images[0].colorbar.extend == extend
        # without a limit the scale spans every finite effect: nothing is clipped
        assert plot_theta(np.array(theta)).images[0].colorbar.extend == "neither"
    finally:
        plt.close("all")
