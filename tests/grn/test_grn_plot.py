"""GRN figures: what is drawn is what the networks say."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from biomodels.grn.plot import (  # noqa: E402
    plot_graph,
    plot_history,
    plot_network,
    plot_networks,
    plot_perturbation,
)

GENES = ["a", "b", "c"]


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _frame(values):
    return pd.DataFrame(np.asarray(values, dtype=float), index=GENES, columns=GENES)


def test_heatmap_values_self_loops_and_true_edges():
    net = _frame([[5, 4, -1], [0, 2, 0], [0, -0.25, 0]])
    truth = _frame([[1, 1, 0], [0, 0, 0], [0, 1, 0]])
    ax = plot_network(net, truth=truth)
    shown = ax.images[0].get_array()
    assert np.isnan(np.diag(np.ma.filled(shown, np.nan))).all()  # self-loops blank
    # sign * sqrt(|x| / max off-diagonal |x|): max is 4
    assert shown[0, 1] == pytest.approx(1.0)
    assert shown[0, 2] == pytest.approx(-0.5)
    assert shown[2, 1] == pytest.approx(-0.25)
    dots = {tuple(p) for p in ax.collections[0].get_offsets()}
    assert dots == {(1.0, 0.0), (1.0, 2.0)}  # (target column, regulator row); a->a left out
    assert ax.get_xlabel() == "target  (dot: true edge)" and ax.get_ylabel() == "regulator"
    assert plot_network(net).get_xlabel() == "target"  # no dots, no key


def _inside_figure(fig, *artists):
    fig.canvas.draw()  # as savefig would: layout engines and label positions act here
    renderer = fig.canvas.get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    for artist in artists:
        box = artist.get_window_extent(renderer)
        assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height, artist


def test_heatmap_colour_bar_reads_in_data_units_and_self_loops_are_grey():
    net = _frame([[0, 4, -1], [0, 0, 0], [0, 1, 0]])
    ax = plot_network(net)
    image = ax.images[0]
    bar = image.colorbar
    # sqrt colour scale: the tick at sqrt(0.5) reads 0.5 (|x| / max), not 0.71
    ticks = dict(zip(np.round(bar.get_ticks(), 6), (t.get_text() for t in
                                                     bar.ax.get_yticklabels())))
    assert ticks[round(np.sqrt(0.5), 6)] == "0.5" and ticks[round(-np.sqrt(0.1), 6)] == "-0.1"
    assert "max |strength|" in bar.ax.get_ylabel()
    # the blank diagonal must not look like a zero effect (white in RdBu_r)
    assert image.cmap.get_bad()[:3] != pytest.approx(image.cmap(0.5)[:3], abs=0.05)
    # a figure made by plot_network keeps its labels inside it
    _inside_figure(ax.figure, ax.xaxis.label, ax.yaxis.label, bar.ax.yaxis.label)


def test_panels_follow_the_first_gene_order():
    net = _frame([[0, 1, 0], [0, 0, -1], [1, 0, 0]])
    shuffled = net.loc[["c", "a", "b"], ["c", "a", "b"]]
    fig = plot_networks({"first": net, "same, reordered": shuffled})
    images = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    assert len(images) == 2
    np.testing.assert_array_equal(np.ma.filled(images[0], 9), np.ma.filled(images[1], 9))
    with pytest.raises(ValueError, match="panel 'bad' lacks the genes"):
        plot_networks({"first": net, "bad": net.rename(index={"c": "z"}, columns={"c": "z"})})


def test_graph_draws_the_strongest_edges_and_counts_hits():
    net = _frame([[9, 3, -2], [0.5, 0, 0], [0, 0.1, 0]])
    truth = _frame([[0, 0, 1], [0, 0, 0], [0, 1, 0]])
    ax = plot_graph(net, truth=truth)  # top = 2 true edges: a->b (3), a->c (-2)
    # a->c is in the truth as an activation: a hit by position, with the opposite sign
    assert ax.get_title() == ("top 2 edges, 1 in the true network,\n1 of them with the "
                              "opposite sign")
    assert len(ax.patches) == 2
    # a key for both codes: colour = sign, line style = in the truth (and with which sign)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "activation", "repression", "in the true network", "in the true network, opposite sign",
        "not in the true network"]
    _inside_figure(ax.figure, ax.get_legend())
    ax = plot_graph(net, top=10)  # only the 4 non-zero off-diagonal edges exist
    assert ax.get_title() == "top 4 edges"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["activation", "repression"]
    with pytest.raises(ValueError, match="top must be >= 0"):
        plot_graph(net, top=-1)


def test_history_marks_pruning_rounds():
    history = {"epoch": [1, 2, 3, 4], "train_loss": [1, 0.5, 0.4, 0.3],
               "val_loss": [1.1, 0.6, 0.5, 0.4], "density": [1, 0.3, 0.3, 0.27],
               "pruned": [0, 1, 0, 1]}
    ax = plot_history(history)
    rounds = [ln for ln in ax.lines if ln.get_xdata()[0] == ln.get_xdata()[-1]]
    assert sorted(float(ln.get_xdata()[0]) for ln in rounds) == [2.0, 4.0]
    # the dashed density line of the twin axis is in the legend too
    assert "weights kept (right axis)" in [t.get_text() for t in ax.get_legend().get_texts()]
    _inside_figure(ax.figure, ax.xaxis.label, ax.yaxis.label)
    with pytest.raises(ValueError, match="history lacks the keys \\['pruned'\\]"):
        plot_history({k: v for k, v in history.items() if k != "pruned"})


def test_perturbation_shows_the_genes_that_change_most():
    t = np.linspace(0, 1, 5)
    base = np.zeros((5, 3))
    pert = base.copy()
    pert[:, 2] = t  # c changes most, then a
    pert[:, 0] = 0.1 * t
    fig = plot_perturbation(t, base, pert, GENES, label="a knockout")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:2] == ["c", "a"] and len(titles) == 3
    assert {ax.get_xlabel() for ax in fig.axes} == {"time"}
    fig = plot_perturbation(t, base, pert, GENES, time_label="time (h)")
    assert {ax.get_xlabel() for ax in fig.axes} == {"time (h)"}
    with pytest.raises(ValueError, match="len\\(times\\), len\\(genes\\)"):
        plot_perturbation(t, base, pert[:4], GENES)
    with pytest.raises(ValueError, match="not in genes: \\['z'\\]"):
        plot_perturbation(t, base, pert, GENES, show=["z"])


def test_perturbation_shades_the_observed_range():
    t = np.linspace(0, 1, 5)
    base = np.zeros((5, 3))
    observed = np.array([[0.0, -1.0, 2.0], [0.5, 1.0, 3.0]])
    fig = plot_perturbation(t, base, base + 1, GENES, show=["b", "c"], observed=observed)
    for ax, (lo, hi) in zip(fig.axes, ((-1.0, 1.0), (2.0, 3.0))):
        band = ax.patches[0].get_path().get_extents(ax.patches[0].get_transform())
        y = ax.transData.inverted().transform([[0, band.y0], [0, band.y1]])[:, 1]
        assert y == pytest.approx([lo, hi])
    with pytest.raises(ValueError, match="observed must be \\(n, 3\\)"):
        plot_perturbation(t, base, base, GENES, observed=observed[:, :2])


def test_perturbation_shows_one_gene_given_by_its_name():
    # show="Pu.1" was read letter by letter: "show names genes that are not in genes:
    # ['P', 'u', '.', '1']"
    t = np.linspace(0, 1, 5)
    base = np.zeros((5, 2))
    fig = plot_perturbation(t, base, base + t[:, None], ["Pu.1", "Gata1"], show="Pu.1")
    assert [ax.get_title() for ax in fig.axes] == ["Pu.1"]
    plt.close(fig)


def test_networks_must_be_labelled_square_frames():
    with pytest.raises(TypeError, match="network must be a pandas DataFrame"):
        plot_network(np.eye(3))
    with pytest.raises(ValueError, match="square"):
        plot_network(pd.DataFrame(np.zeros((2, 3)), index=["a", "b"], columns=GENES))


def test_a_failed_figure_is_closed_not_left_open():
    # a truth or panel on other genes, or a history with a short series, raised after the
    # figure was made: every failed call left an empty figure open (shown in a notebook,
    # and pyplot warns past 20 of them in a loop); now no figure is left behind
    net = _frame(np.eye(3))
    other = pd.DataFrame(np.ones((2, 2)), index=["a", "x"], columns=["a", "x"])
    history = {"epoch": [1, 2], "train_loss": [1.0], "val_loss": [1.0, 0.5],
               "density": [1, 1], "pruned": [0, 0]}
    calls = [(lambda: plot_network(net, truth=other), "truth lacks the genes"),
             (lambda: plot_networks({"fit": net, "other": other}), "panel 'other' lacks"),
             (lambda: plot_networks({"fit": net}, truth=other), "truth lacks the genes"),
             (lambda: plot_history(history), "train_loss")]
    plt.close("all")
    for call, match in calls:
        with pytest.raises(ValueError, match=match):
            call()
        assert plt.get_fignums() == []


def test_numeric_gene_ids_read_from_a_csv_are_plotted(tmp_path):
    # pd.read_csv(path, index_col=0) reads numeric ids as ints in the index and as text in
    # the header: evaluate scored such a truth, the figures said "must be square"
    ids = ["101", "102", "103"]
    net = pd.DataFrame([[0, 4.0, -1], [0, 0, 0], [0, 2, 0]], index=ids, columns=ids)
    pd.DataFrame([[0, 1, 0], [0, 0, 0], [0, 1, 0]], index=ids, columns=ids).to_csv(
        tmp_path / "truth.csv")
    truth = pd.read_csv(tmp_path / "truth.csv", index_col=0)
    assert truth.index.dtype == np.int64  # the case at hand
    ax = plot_network(net, truth=truth)
    assert {tuple(p) for p in ax.collections[0].get_offsets()} == {(1.0, 0.0), (1.0, 2.0)}
    assert [t.get_text() for t in ax.get_xticklabels()] == ids
    fig = plot_networks({"truth": truth, "fit": net}, truth=truth)
    assert np.ma.filled(fig.axes[0].images[0].get_array(), 9)[2, 1] == pytest.approx(1.0)
    assert plot_graph(net, truth=truth).get_title() == "top 2 edges, 2 in the true network"


def test_perturbation_names_observed_when_given_an_anndata():
    # the AnnData itself instead of adata.X failed in numpy: "setting an array element with
    # a sequence. The requested array would exceed the maximum number of dimension of 64."
    import anndata as ad

    t = np.linspace(0, 1, 5)
    base = np.zeros((5, 3))
    adata = ad.AnnData(np.array([[0.0, -1.0, 2.0], [0.5, 1.0, 3.0]]),
                       var=pd.DataFrame(index=GENES))
    with pytest.raises(TypeError, match=r"observed must be \(n, 3\) expression, e.g. adata.X "
                                        r"\(.*got an AnnData\)"):
        plot_perturbation(t, base, base, GENES, observed=adata)
    ax = plot_perturbation(t, base, base, GENES, show="c", observed=adata.X).axes[0]
    band = ax.patches[0].get_path().get_extents(ax.patches[0].get_transform())
    y = ax.transData.inverted().transform([[0, band.y0], [0, band.y1]])[:, 1]
    assert y == pytest.approx([2.0, 3.0])


def test_heatmap_with_an_infinite_weight_keeps_the_finite_edges_visible():
    # an inf weight set the scale to inf: every finite edge was drawn white (as zero)
    # and numpy warned "invalid value encountered in divide"
    net = _frame([[0, 4, np.inf], [-1, 0, 0], [0, 0, 0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        shown = plot_network(net, sqrt_scale=False).images[0].get_array()
    assert shown[0, 1] == pytest.approx(1.0) and shown[1, 0] == pytest.approx(-0.25)
    assert shown[0, 2] == 1.0  # the strongest activation colour, not the self-loop grey


def test_graph_tells_activation_from_repression_by_the_head_not_the_colour_alone():
    # before: one arrow head for both signs, red against blue only, which print as the same
    # grey; now an arrow activates and a flat bar represses, as in pathway diagrams
    from matplotlib.patches import ArrowStyle

    net = _frame([[0, 3, -2], [0, 0, 0], [0, 0, 0]])
    ax = plot_graph(net)
    heads = {tuple(np.round(p.get_edgecolor()[:3], 3)): type(p.get_arrowstyle())
             for p in ax.patches}
    red = tuple(np.round(matplotlib.colors.to_rgb("tab:red"), 3))
    blue = tuple(np.round(matplotlib.colors.to_rgb("tab:blue"), 3))
    assert heads == {red: ArrowStyle.CurveFilledB, blue: ArrowStyle.BracketB}
    keys = {t.get_text(): h.get_marker() for t, h in
            zip(ax.get_legend().get_texts(), ax.get_legend().legend_handles)}
    assert keys["activation"] != keys["repression"]  # the key shows the heads too


def test_graph_of_sixty_genes_keeps_the_gene_names_apart():
    # every gene is placed on the circle up to 60; before: a 6-inch circle of 60
    # overlapping nodes whose names ran into each other
    genes = [f"Gene{i}" for i in range(60)]
    values = np.zeros((60, 60))
    values[np.arange(60), (np.arange(60) + 1) % 60] = 1.0
    ax = plot_graph(pd.DataFrame(values, index=genes, columns=genes), top=5)
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts if t.get_text() in genes]
    assert len(boxes) == 60
    overlaps = [(i, j) for i in range(60) for j in range(i + 1, 60)
                if boxes[i].overlaps(boxes[j])]
    assert overlaps == []


def test_true_edge_dots_stay_visible_on_the_darkest_cells():
    # before: plain black dots, lost on the dark red and dark blue of the strongest edges
    # (the hits they mark); now ringed in white
    net = _frame([[0, 4, -4], [0, 0, 0], [0, 0, 0]])
    ax = plot_network(net, truth=net)
    dots = ax.collections[0]
    assert matplotlib.colors.to_hex(dots.get_facecolor()[0]) == "#000000"
    assert matplotlib.colors.to_hex(dots.get_edgecolor()[0]) == "#ffffff"
    assert dots.get_linewidths()[0] > 0


def test_history_and_perturbation_lines_differ_in_more_than_colour():
    # before: train and held-out losses, and baseline (black) and perturbed (red) runs,
    # were solid lines told apart by colour only (black against red is hard for red-blind
    # readers)
    history = {"epoch": [1, 2, 3], "train_loss": [1, 0.5, 0.4], "val_loss": [1.1, 0.6, 0.5],
               "density": [1, 0.3, 0.3], "pruned": [0, 1, 0]}
    ax = plot_history(history)
    styles = {ln.get_label(): ln.get_linestyle() for ln in ax.lines}
    assert styles["train"] != styles["held-out"]
    fig = plot_perturbation([0, 1], np.zeros((2, 3)), np.ones((2, 3)), GENES, show="a",
                            label="knockout")
    styles = {ln.get_label(): ln.get_linestyle() for ln in fig.axes[0].lines}
    assert styles["baseline"] != styles["knockout"]


def test_a_callers_tight_layout_after_a_heatmap_neither_fails_nor_warns():
    # plt.tight_layout() after plot_network raised RuntimeError ("Colorbar layout of new
    # layout engine not compatible"): the figures were made with constrained layout
    net = _frame([[0, 4, -1], [0, 0, 0], [0, 1, 0]])
    t = np.linspace(0, 1, 5)
    base = np.zeros((5, 3))
    figures = [plot_network(net).figure, plot_networks({"a": net, "b": net}),
               plot_perturbation(t, base, base + 0.1, GENES)]
    try:
        for fig in figures:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                fig.tight_layout()
    finally:
        for fig in figures:
            plt.close(fig)


def test_perturbation_plot_takes_bfloat16_and_grad_tensors():
    # trajectories as torch tensors that need grad (or bfloat16 ones) failed in np.asarray:
    # "Can't call numpy() on Tensor that requires grad"
    import torch

    t = torch.linspace(0.0, 1.0, 5)
    base = torch.linspace(0.0, 1.0, 15).reshape(5, 3).requires_grad_()
    for conv in (lambda x: x, lambda x: x.bfloat16()):
        fig = plot_perturbation(conv(t), conv(base), conv(base) * 2, GENES, observed=conv(base))
        line = fig.axes[0].get_lines()[0]
        np.testing.assert_allclose(line.get_ydata(), conv(base).detach().double()[:, 2].numpy())
        plt.close(fig)


def _edge_styles(ax):
    """(colour, line style) of every drawn edge, as a sorted list."""
    names = {matplotlib.colors.to_hex("tab:red"): "red", matplotlib.colors.to_hex("tab:blue"):
             "blue"}
    return sorted((names[matplotlib.colors.to_hex(p.get_edgecolor())], p.get_linestyle())
                  for p in ax.patches)


def test_graph_tells_edges_of_the_opposite_sign_from_hits():
    # truth a -| b -| c, network a -> b -> c: the title said "top 2 edges, 2 in the true
    # network" and both were drawn as solid red arrows, as if the truth had these
    # activations; evaluate's signed_epr counts neither as a hit
    truth = _frame([[0, -1, 0], [0, 0, -1], [0, 0, 0]])
    ax = plot_graph(_frame([[0, 1, 0], [0, 0, 1], [0, 0, 0]]), truth=truth)
    assert ax.get_title() == ("top 2 edges, 2 in the true network,\n2 of them with the "
                              "opposite sign")
    styles = _edge_styles(ax)
    assert [colour for colour, _ in styles] == ["red", "red"]
    assert styles[0][1] == styles[1][1] != "solid"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "in the true network, opposite sign" in legend
    # one edge of each kind: the same sign (solid), the opposite one, not in the truth (dashed)
    truth = _frame([[0, -1, 1], [0, 0, -1], [1, 0, 0]])
    net = _frame([[0, 1, 2], [0, 0, -1.5], [0, 0.5, 0]])
    ax = plot_graph(net, truth=truth, top=4)
    assert ax.get_title() == ("top 4 edges, 3 in the true network,\n1 of them with the "
                              "opposite sign")
    kinds = _edge_styles(ax)
    assert ("blue", "solid") in kinds and ("red", "solid") in kinds  # b -| c, a -> c
    opposite = [s for c, s in kinds if s != "solid"]
    assert len(opposite) == 2 and len(set(opposite)) == 2  # a -> b and c -> b told apart
    # a network whose signs agree keeps the title it had
    assert plot_graph(truth, truth=truth).get_title() == "top 4 edges, 4 in the true network"


def test_heatmap_says_what_grey_off_the_diagonal_means_and_draws_inf_at_the_ends():
    # a network pivoted from edges.csv has NaN where no edge was listed (81 of 110 cells for
    # the demo's top 40): drawn in the self-loops' grey with nothing saying so
    net = _frame([[0, np.nan, np.inf], [-np.inf, 0, 1], [np.nan, -2, 0]])
    ax = plot_network(net)
    assert "grey off the diagonal: NaN" in ax.get_title()
    assert "inf" in ax.get_title()
    shown = np.ma.filled(ax.images[0].get_array(), np.nan)
    assert shown[0, 2] == 1.0 and shown[1, 0] == -1.0  # the ends of the scale
    assert np.isnan(shown[0, 1]) and np.isnan(shown[2, 0])
    ax = plot_network(net, title="pivoted")
    assert ax.get_title().startswith("pivoted\n")
    assert plot_network(_frame([[0, 1, 0], [0, 0, 1], [1, 0, 0]]), title="t").get_title() == "t"
    _inside_figure(ax.figure, ax.title)


@pytest.mark.parametrize(("n", "step", "word"), [(61, 2, "2nd"), (150, 3, "3rd")])
def test_a_large_heatmap_names_every_kth_gene(n, step, word):
    # above 60 genes every name was dropped: position numbers only, under a plain "target"
    genes = [f"g{i}" for i in range(n)]
    net = pd.DataFrame(np.ones((n, n)), index=genes, columns=genes)
    ax = plot_network(net, truth=net)
    assert [t.get_text() for t in ax.get_xticklabels()] == genes[::step]
    assert [t.get_text() for t in ax.get_yticklabels()] == genes[::step]
    assert len(genes[::step]) <= 60
    assert ax.get_xlabel() == f"target (every {word} named)  (dot: true edge)"
    assert ax.get_ylabel() == f"regulator (every {word} named)"


def _corners(text, renderer):
    """The four corners of a (possibly rotated) text's box, in display coordinates."""
    angle = np.deg2rad(text.get_rotation())
    rotation = text.get_rotation()
    text.set_rotation(0)
    box = text.get_window_extent(renderer)
    text.set_rotation(rotation)
    anchor = text.get_transform().transform(text.get_unitless_position())
    corners = np.array([[box.x0, box.y0], [box.x1, box.y0], [box.x1, box.y1],
                        [box.x0, box.y1]]) - anchor
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return corners @ turn.T + anchor


def _overlap(a, b):
    """Whether two convex polygons overlap (separating axis theorem), touching excluded."""
    for poly in (a, b):
        for k in range(len(poly)):
            edge = poly[(k + 1) % len(poly)] - poly[k]
            axis = np.array([-edge[1], edge[0]])
            pa, pb = a @ axis, b @ axis
            if pa.max() <= pb.min() + 1e-6 or pb.max() <= pa.min() + 1e-6:
                return False
    return True


@pytest.mark.parametrize("n", [8, 150])
def test_graph_of_many_genes_and_long_names_keeps_the_names_apart_and_inside(n):
    # 150 genes: the default 300 edges touch every gene, so all 150 names were placed across
    # their nodes and ran into each other; long names were cut at the figure's edges
    rng = np.random.default_rng(0)
    genes = [f"ENSG_long_gene_name_{i:03d}" for i in range(n)]
    values = rng.normal(size=(n, n)) * (rng.random((n, n)) < 0.3)
    net = pd.DataFrame(values, index=genes, columns=genes)
    if n > 60:
        with pytest.warns(UserWarning, match="draws the 300 strongest edges"):
            ax = plot_graph(net)
    else:
        ax = plot_graph(net)
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    names = [t for t in ax.texts if t.get_text() in genes]
    assert len(names) == len(ax.collections[0].get_offsets()) > 0.9 * n  # every node named
    boxes = [_corners(t, renderer) for t in names]
    for box in boxes:  # inside the figure
        assert box.min() >= 0 and (box[:, 0] <= fig.bbox.width).all()
        assert (box[:, 1] <= fig.bbox.height).all()
    assert [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes))
            if _overlap(boxes[i], boxes[j])] == []


def test_perturbation_panels_have_their_own_scales_wrap_and_mark_few_time_points():
    # sharey=True drew a gene at 1e-4 as a flat line at 0 beside one at 1e5
    t = np.linspace(0, 10, 20)
    base = np.stack([1e5 * (1 + 0.01 * t), 1e-4 * (1 + 0.1 * t)], axis=1)
    pert = base.copy()
    pert[:, 1] = 0.5e-4
    fig = plot_perturbation(t, base, pert, ["big", "small"], show=["big", "small"])
    low, high = fig.axes[1].get_ylim()
    assert high - low < 1e-3
    shared = plot_perturbation(t, base, pert, ["big", "small"], show=["big", "small"],
                               sharey=True)
    assert shared.axes[1].get_ylim() == shared.axes[0].get_ylim()
    # 40 genes: one row 108 inches wide before; now at most 6 panels a row
    genes = [f"g{i}" for i in range(40)]
    many = plot_perturbation(t, np.outer(t, np.arange(40)), np.outer(t, np.arange(40)) + 1,
                             genes, show=genes)
    assert [ax.get_title() for ax in many.axes] == genes
    assert many.get_figwidth() <= 6 * 2.7 + 1e-9 and many.get_figheight() == 7 * 3
    assert {ax.get_subplotspec().colspan.start for ax in many.axes} == set(range(6))
    assert all(ax.get_ylabel() == "predicted expression" for ax in many.axes
               if ax.get_subplotspec().is_first_col())
    # one time point: lines without markers drew empty panels
    one = plot_perturbation([0.0], np.ones((1, 3)), 2 * np.ones((1, 3)), GENES)
    markers = {ln.get_label(): ln.get_marker() for ln in one.axes[0].lines}
    assert markers["baseline"] not in ("None", "", None)
    assert markers["perturbed"] not in ("None", "", None, markers["baseline"])
    with pytest.raises(TypeError, match="sharey must be True or False"):
        plot_perturbation(t, base, pert, ["big", "small"], sharey="yes")


def _edges_at_full_strength(ax, values, dpi=110):
    """Fraction of the non-zero cells drawn at the end of the scale of their sign, and the
    number of the axes' pixels at either end of the scale.

    The figure is saved as a PNG; a cell counts when a pixel within one of its centre
    has (within 0.1 in each channel) the colour of +1 (red) or -1 (blue) as its sign says.
    """
    import io

    fig = ax.figure
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    buffer.seek(0)
    pixels = plt.imread(buffer)[..., :3]
    height = pixels.shape[0]
    cmap = ax.images[0].cmap
    ends = {1.0: np.array(cmap(1.0)[:3]), -1.0: np.array(cmap(0.0)[:3])}
    rows, cols = np.nonzero(values)
    # the cells' centres in pixels, as savefig laid them out, at its dpi (not the figure's)
    scale = dpi / fig.dpi
    centres = ax.transData.transform(np.column_stack([cols, rows]).astype(float)) * scale
    # the pixels within one of each centre, (edges, 9, 3), against the end of its sign
    step = np.array([-1, 0, 1])
    px = (centres[:, 0].astype(int)[:, None, None] + step[None, None, :]).clip(
        0, pixels.shape[1] - 1)
    py = ((height - centres[:, 1]).astype(int)[:, None, None] + step[None, :, None]).clip(
        0, height - 1)
    patch = pixels[py, px].reshape(len(rows), 9, 3)
    end = np.where((values[rows, cols] > 0)[:, None], ends[1.0], ends[-1.0])[:, None, :]
    seen = int((np.abs(patch - end).max(axis=-1) < 0.1).any(axis=1).sum())
    box = ax.get_window_extent()
    inner = pixels[int(height - box.y1 * scale) + 2:int(height - box.y0 * scale) - 2,
                   int(box.x0 * scale) + 2:int(box.x1 * scale) - 2]
    strong = sum(int((np.abs(inner - end).max(axis=-1) < 0.1).sum()) for end in ends.values())
    return seen / len(rows), strong


def test_a_heatmap_of_thousands_of_genes_shows_every_sparse_edge_at_its_strength():
    # before: imshow's default antialiasing averaged each cell with its neighbours, so at
    # 2,000 genes on ~1,000 pixels a full-strength edge became a near-white speck: no edge
    # of ~2,000 was drawn at the end of the scale (400 genes: about half of them). Now each
    # cell is drawn alone (nearest) and, beyond the axes' room, shows the strongest pair of
    # its k x k block, which the title says
    rng = np.random.default_rng(0)
    n = 2000
    values = np.where(rng.random((n, n)) < 5e-4, rng.choice([-1.0, 1.0], size=(n, n)), 0.0)
    np.fill_diagonal(values, 0.0)
    genes = [f"g{i}" for i in range(n)]
    ax = plot_network(pd.DataFrame(values, index=genes, columns=genes))
    seen, strong = _edges_at_full_strength(ax, values)
    assert seen > 0.95 and strong > 2 * np.count_nonzero(values)
    assert "each cell the strongest of" in ax.get_title()
    # the ticks still name genes at their own positions
    assert ax.get_xlim() == (-0.5, n - 0.5) and ax.get_xticklabels()[1].get_text() == "g34"
    plt.close("all")
    # 400 genes: one cell each (no block), none blended into its neighbours
    small = values[:400, :400]
    ax = plot_network(pd.DataFrame(small, index=genes[:400], columns=genes[:400]))
    seen, strong = _edges_at_full_strength(ax, small)
    # each cell ~2.6 pixels a side: ~6 pixels at full strength an edge (before: ~1)
    assert seen > 0.95 and strong > 4 * np.count_nonzero(small)
    assert ax.get_title() == ""


def test_strongest_blocks_keep_the_sign_of_the_largest_magnitude():
    from core.blocks import strongest_blocks as _strongest_blocks

    values = np.array([[0.1, -0.9, 0.0], [0.5, np.nan, 0.2], [np.nan, np.nan, -3.0]])
    np.testing.assert_array_equal(_strongest_blocks(values, 2), [[-0.9, 0.2], [np.nan, -3.0]])


def test_heatmap_colour_bar_label_fits_a_small_figure_and_gives_the_panel_maximum():
    # before: "signed strength / max |strength| (sqrt colour scale)" on one line ran past
    # both ends of the colour bar of a 4-gene figure and was cut off at its top, and no
    # figure said what max |strength| was (each panel is scaled to its own)
    genes = ["Gata1", "Pu.1", "Fog1", "EKLF"]
    values = np.zeros((4, 4))
    values[0, 1], values[1, 2], values[2, 0] = 2.0, -1.0, 0.3
    for sqrt_scale in (True, False):
        ax = plot_network(pd.DataFrame(values, index=genes, columns=genes),
                          sqrt_scale=sqrt_scale)
        bar = ax.images[0].colorbar
        assert "max |strength| = 2" in bar.ax.get_ylabel()
        fig = ax.figure
        _inside_figure(fig, bar.ax.yaxis.label)
        label = bar.ax.yaxis.label.get_window_extent(fig.canvas.get_renderer())
        frame = bar.ax.get_window_extent(fig.canvas.get_renderer())
        assert label.y0 >= frame.y0 - 1 and label.y1 <= frame.y1 + 1
        plt.close(fig)


def test_perturbation_ranks_a_diverged_gene_first_and_takes_an_unobserved_gene():
    # before: a gene whose simulated change was NaN (a diverged run) was ranked last by
    # the default show, behind genes that did not change at all, and an observed column of
    # NaN only warned "All-NaN slice encountered" (an error under -W error)
    t = np.linspace(0, 1, 5)
    base = np.zeros((5, 8))
    pert = np.outer(t, np.arange(8.0))  # gene g7 changes most, g0 not at all
    pert[3:, 2] = np.nan
    genes = [f"g{i}" for i in range(8)]
    observed = np.ones((4, 8))
    observed[:, 5] = np.nan
    observed[0, 6] = np.nan  # partly observed: the band of the rest
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plot_perturbation(t, base, pert, genes, observed=observed)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["g2", "g7", "g6", "g5", "g4", "g3"]
    panels = dict(zip(titles, fig.axes))
    assert [x.get_text() for x in panels["g2"].texts] == ["NaN or inf predicted: not drawn"]
    assert [x.get_text() for x in panels["g5"].texts] == ["no observed value"]
    assert len(panels["g5"].patches) == 0 and len(panels["g6"].patches) == 1
    assert len(panels["g7"].texts) == 0
