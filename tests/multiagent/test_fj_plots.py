"""Figures a reader can trust: distinct colours, unhidden lines, labelled axes and scales."""

from __future__ import annotations

import argparse

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from core.cli import main
from multiagent.plot import plot_influence, plot_sweep, plot_trajectories


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _beliefs(n: int, rounds: int = 4, K: int = 3) -> np.ndarray:
    rng = np.random.default_rng(0)
    B = rng.dirichlet(np.ones(K), size=(rounds + 1, n))
    return 0.1 + 0.5 * B  # all beliefs in the correct option inside [0.1, 0.6]


def test_each_agent_has_its_own_colour_up_to_eighteen():
    # before: nine colours cycled, so agents 0 and 9 were drawn alike and the legend
    # named two agents for one line colour
    ax = plot_trajectories(_beliefs(12), adversaries=[3])
    colours = [line.get_color() for line in ax.lines]
    assert len(set(map(str, colours))) == 12
    assert ax.lines[-1].get_label() == "agent 3 (adversary)"  # drawn last: never covered


def test_many_benign_agents_share_one_colour_and_one_legend_entry():
    ax = plot_trajectories(_beliefs(30), adversaries=[0])
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["benign agents (29)", "agent 0 (adversary)"]


def test_legend_sits_beside_the_axes_not_on_the_lines():
    ax = plot_trajectories(_beliefs(12), adversaries=[3])
    ax.figure.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 >= ax.get_window_extent().x1  # before: inside, over the red line


def test_beliefs_use_the_whole_probability_scale_and_whole_rounds():
    ax = plot_trajectories(_beliefs(4), option=1, ylabel="belief in the correct option")
    low, high = ax.get_ylim()
    assert low <= 0 and high >= 1  # before: zoomed to the data, 0.1-0.6
    assert ax.get_ylabel() == "belief in the correct option"
    ax.figure.canvas.draw()
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert all(float(t).is_integer() for t in ticks)
    scalar = plot_trajectories(np.linspace(0, 5, 12).reshape(4, 3))
    assert scalar.get_ylabel() == "opinion" and scalar.get_ylim()[1] > 5  # not clipped


def test_influence_map_names_listener_source_and_scale():
    M = np.full((6, 6), 1 / 6)
    ax = plot_influence(M)
    bar_axes = ax.figure.axes[-1]
    assert bar_axes is not ax and "M_{ij}" in bar_axes.get_ylabel()  # before: unlabelled
    assert ax.get_ylabel() == "listener agent i" and ax.get_xlabel() == "source agent j"
    assert list(ax.get_xticks()) == list(range(6))  # one tick per agent


@pytest.mark.parametrize("M", [np.ones((2, 3)), np.ones(3), np.ones((2, 2, 2)),
                               np.zeros((0, 0))])
def test_influence_map_refuses_a_matrix_that_is_not_square_before_making_a_figure(M):
    # before: a (2, 3) array was drawn as an influence matrix of 2 listeners, 3 sources
    before = plt.get_fignums()
    with pytest.raises(ValueError, match=r"^M: expected a square \(n, n\) influence matrix"):
        plot_influence(M)
    assert plt.get_fignums() == before


def test_sweep_axes_get_readable_names():
    frame = pd.DataFrame({"gamma": [0.1, 0.2, 0.1, 0.2], "asr": [0.5, 0.2, 0.7, 0.0],
                          "other": [1, 1, 2, 2]})
    ax = plot_sweep(frame, x="gamma", y="asr", hue="other")
    assert ax.get_ylabel() == "attack success rate"
    assert ax.get_xlabel() == "benign stubbornness gamma"
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.5, 0.2])
    assert plot_sweep(frame, x="other", y="asr").get_xlabel() == "other"  # unknown: as is


def test_sweep_names_a_column_the_frame_lacks():
    # before: pandas' "KeyError: 'Column not found: zz'" named neither argument nor columns
    frame = pd.DataFrame({"gamma": [0.1, 0.2], "asr": [0.5, 0.2]})
    with pytest.raises(ValueError, match=r"^y: 'zz' is not a column of frame; it has "
                                         r"\['gamma', 'asr'\]"):
        plot_sweep(frame, x="gamma", y="zz")
    with pytest.raises(ValueError, match="^hue: 'n'"):
        plot_sweep(frame, x="gamma", y="asr", hue="n")


def test_simulate_plot_says_which_option_is_correct(tmp_path, monkeypatch, capsys):
    import multiagent.plot

    seen = {}

    def spy(*args, **kwargs):
        ax = plot_trajectories(*args, **kwargs)
        seen["ylabel"] = ax.get_ylabel()
        return ax

    monkeypatch.setattr(multiagent.plot, "plot_trajectories", spy)
    out = tmp_path / "o"
    assert main(["fj", "simulate", "--questions", "1", "--out", str(out)]) == 0
    truth = int(pd.read_csv(out / "trajectories.csv")["truth"].iloc[0])
    # before: "belief in option 4", which did not say that 4 was the right answer
    assert seen["ylabel"] == f"belief in the correct option ({truth})"


def test_every_fj_option_is_explained_in_help():
    from multiagent.cli import register

    parser = argparse.ArgumentParser(prog="prunus")
    register(parser.add_subparsers())
    fj = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    commands = next(a for a in fj.choices["fj"]._actions
                    if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        for action in sub._actions:
            assert action.help, f"prunus fj {name} {action.dest} has no help text"


@pytest.mark.parametrize("option", [np.int64(1), np.array(1)])
def test_plot_trajectories_option_as_a_numpy_integer(option) -> None:
    traj = _beliefs(4)
    ax = plot_trajectories(traj, option=option)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), traj[:, 0, 1])
    assert ax.get_ylabel() == "belief in option 1"


@pytest.mark.parametrize("option", [True, 1.0, "1", 3, [1]])
def test_plot_trajectories_option_not_an_index_is_refused_by_name(option) -> None:
    # True plotted all options as one agent ("x and y can be no greater than 2D"); the
    # others failed in numpy's indexing with an IndexError naming no argument
    with pytest.raises((TypeError, ValueError), match="option"):
        plot_trajectories(_beliefs(4), option=option)


def test_sweep_lines_differ_in_marker_not_colour_alone():
    # before: every line had the same round marker, told apart by colour only; a marker
    # each, continued over a second call on the same axes (as the tutorial draws ASR and
    # weight)
    frame = pd.DataFrame({"gamma": [0.1, 0.2] * 3, "asr": np.linspace(0, 1, 6),
                          "adversary_weight": np.linspace(1, 0, 6), "alpha": [0, 0, 1, 1, 2, 2]})
    ax = plot_sweep(frame, x="gamma", y="asr", hue="alpha")
    plot_sweep(frame, x="gamma", y="adversary_weight", ax=ax)
    assert len({line.get_marker() for line in ax.lines}) == 4


@pytest.mark.parametrize("draw", ["trajectories", "sweep"])
def test_a_figure_made_here_keeps_its_labels_and_legend_inside(draw):
    # before: the x label (both) and the legend beside the axes (trajectories) were cut off
    # a saved figure
    if draw == "trajectories":
        ax = plot_trajectories(_beliefs(6), adversaries=[0])
    else:
        frame = pd.DataFrame({"gamma": [0.1, 0.2, 0.1, 0.2], "asr": [0.5, 0.2, 0.7, 0.0],
                              "alpha": [0, 0, 1, 1]})
        ax = plot_sweep(frame, x="gamma", y="asr", hue="alpha")
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for artist in (ax.xaxis.label, ax.yaxis.label, ax.get_legend()):
        box = artist.get_window_extent(renderer)
        assert (box.x0 >= 0 and box.y0 >= 0 and box.x1 <= fig.bbox.width
                and box.y1 <= fig.bbox.height), artist


def test_a_callers_tight_layout_after_the_plot_does_not_warn():
    # a constrained-layout figure warned "The figure layout has changed to tight" (an error
    # under -W error) when the caller laid it out again, as notebooks and scripts do
    import warnings

    frame = pd.DataFrame({"gamma": [0.1, 0.2], "asr": [0.5, 0.2]})
    for ax in (plot_trajectories(_beliefs(6), adversaries=[0]),
               plot_sweep(frame, x="gamma", y="asr")):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ax.figure.tight_layout()
        plt.close(ax.figure)


def test_a_title_the_caller_adds_after_the_plot_stays_inside():
    # laid out once when made, the figure cut off a title set afterwards (the constrained
    # layout before that kept it): laid out at each draw, it makes room
    frame = pd.DataFrame({"gamma": [0.1, 0.2], "asr": [0.5, 0.2]})
    for ax in (plot_trajectories(_beliefs(6), adversaries=[0]),
               plot_sweep(frame, x="gamma", y="asr")):
        ax.set_title("a debate")
        fig = ax.figure
        fig.canvas.draw()
        assert ax.title.get_window_extent(fig.canvas.get_renderer()).y1 <= fig.bbox.height
        plt.close(fig)


def test_trust_streams_with_and_without_a_warm_up_share_the_debate_question_axis():
    # before: tutorial 05 plotted trust against the stream's question number, so the run
    # without a warm-up (debates at questions 0-199) sat under the grey "warm-up" band of
    # the other runs (warm-up 0-9, debates 10-209) and ended 10 questions early
    from multiagent.adversary import Adversary, Scenario
    from multiagent.defense import run_trust_stream
    from multiagent.plot import plot_trust_stream

    sc = Scenario(graph="complete", n=4, adversaries=(Adversary("hub"),))
    bare = run_trust_stream(sc, questions=6, warmup=0, online=False)
    warm = run_trust_stream(sc, questions=6, warmup=3, online=False)
    ax = plot_trust_stream(bare, label="no defense")
    plot_trust_stream(warm, label="warm-up, frozen", ax=ax)
    plot_trust_stream(run_trust_stream(sc, questions=6, warmup=3), label="online", ax=ax)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["no defense"].get_xdata()) == list(range(6))  # debates 0..5
    assert list(lines["warm-up, frozen"].get_xdata()) == list(range(-3, 6))  # warm-up < 0
    np.testing.assert_array_equal(lines["warm-up, frozen"].get_ydata(),
                                  warm.trust_in_adversary)
    bands = [p for p in ax.patches if p.get_label() == "warm-up (labelled questions)"]
    assert len(bands) == 1  # drawn once, for both runs with a warm-up
    # in data units from its drawn extent (a Polygon before matplotlib 3.9, no get_x)
    box = bands[0].get_window_extent()
    x0, x1 = ax.transData.inverted().transform([[box.x0, 0.0], [box.x1, 0.0]])[:, 0]
    assert (x0, x1) == pytest.approx((-3.5, -0.5))  # ends before every run's first debate
    assert "debate question" in ax.get_xlabel()
    with pytest.raises(ValueError, match="frame: expected run_trust_stream's table"):
        plot_trust_stream(pd.DataFrame({"question": [0]}))


def test_trajectory_legend_uses_the_agents_names_when_given():
    # before: plot_trajectories had no names=, so an adjacency file's agents (Alice..Eve)
    # were "agent 0".."agent 4" in the legend while the title and the CSV named them
    names = ["Alice", "Bob", "Carol", "Dave", "Eve"]
    ax = plot_trajectories(_beliefs(5), adversaries=[4], names=names)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["Alice", "Bob", "Carol", "Dave", "Eve (adversary)"]
    # beyond 18 benign agents they still share one entry; the adversary keeps its name
    many = [f"a{i}" for i in range(30)]
    ax = plot_trajectories(_beliefs(30), adversaries=[7], names=many)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["benign agents (29)", "a7 (adversary)"]
    # a leading underscore hid the entry; a dollar pair started mathtext
    ax = plot_trajectories(_beliefs(2), names=["_x", "$a$"])
    ax.figure.canvas.draw()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [" _x", r"\$a\$"]


@pytest.mark.parametrize(("names", "error", "message"), [
    (["a", "b"], ValueError, r"^names: expected 3 agent names, one per agent of trajectory, "
                             r"got 2"),
    ("abc", TypeError, r"^names: expected a sequence of agent names, got a str"),
])
def test_trajectory_names_of_the_wrong_length_are_refused(names, error, message):
    before = plt.get_fignums()
    with pytest.raises(error, match=message):
        plot_trajectories(_beliefs(3), names=names)
    assert plt.get_fignums() == before


def test_sweep_hue_values_get_short_labels():
    # before: "gamma=0.30000000000000004", "gamma=0.7000000000000001" (np.linspace)
    gammas = list(np.linspace(0.1, 0.9, 5))
    frame = pd.DataFrame({"alpha": [0.2, 0.5] * 5, "asr": np.linspace(0, 1, 10),
                          "gamma": np.repeat(gammas, 2)})
    ax = plot_sweep(frame, x="alpha", y="asr", hue="gamma")
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["gamma=0.1", "gamma=0.3", "gamma=0.5", "gamma=0.7", "gamma=0.9"]
    # values that 4 digits would merge keep enough digits to stay apart
    frame = pd.DataFrame({"alpha": [0.2, 0.2], "asr": [0.0, 1.0],
                          "gamma": [0.123451, 0.123459]})
    ax = plot_sweep(frame, x="alpha", y="asr", hue="gamma")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == \
        ["gamma=0.12345", "gamma=0.12346"]


def test_sweep_legend_of_many_hues_sits_beside_the_axes():
    # before: 12 entries inside the axes covered the curves
    frame = pd.DataFrame({"alpha": np.tile([0.0, 0.5], 12), "asr": np.linspace(0, 1, 24),
                          "gamma": np.repeat(np.linspace(0.05, 0.9, 12), 2)})
    ax = plot_sweep(frame, x="alpha", y="asr", hue="gamma")
    fig = ax.figure
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 >= ax.get_window_extent().x1 and legend.x1 <= fig.bbox.width
    # a few entries stay inside, where matplotlib finds room
    few = plot_sweep(frame[frame.gamma < 0.3], x="alpha", y="asr", hue="gamma")
    few.figure.canvas.draw()
    assert few.get_legend().get_window_extent().x1 <= few.get_window_extent().x1


def test_sweep_repeated_rows_get_a_band_of_the_95_percent_interval():
    # before: seeds were averaged with no spread shown
    from scipy import stats

    frame = pd.DataFrame({"gamma": [0.1] * 3 + [0.2] * 3, "asr": [0, 0.5, 1, 0.2, 0.2, 0.2],
                          "seed": [0, 1, 2] * 2})
    ax = plot_sweep(frame, x="gamma", y="asr")
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.5, 0.2])
    (band,) = ax.collections
    half = stats.t.ppf(0.975, 2) * 0.5 / np.sqrt(3)  # t(2) quantile * sd / sqrt(3): 1.242
    low, high = band.get_paths()[0].vertices[:, 1].min(), band.get_paths()[0].vertices[:, 1].max()
    assert (low, high) == pytest.approx((0.5 - half, 0.5 + half))
    assert "95 % CI" in ax.get_ylabel() and "3 runs" in ax.get_ylabel()
    ax = plot_sweep(frame, x="gamma", y="asr", spread="range")
    verts = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert (verts.min(), verts.max()) == pytest.approx((0.0, 1.0))
    assert "min-max" in ax.get_ylabel()
    assert not plot_sweep(frame, x="gamma", y="asr", spread=None).collections
    # one row per point: no band, the label as before
    ax = plot_sweep(frame[frame.seed == 0], x="gamma", y="asr")
    assert not ax.collections and ax.get_ylabel() == "attack success rate"
    with pytest.raises(ValueError, match=r"^spread: expected 'ci', 'range' or None"):
        plot_sweep(frame, x="gamma", y="asr", spread="sd")


def test_sweep_categorical_x_is_not_joined_by_lines():
    # before: graph names were joined by lines (as if "ring" lay between "complete" and
    # "star") and put in alphabetical order instead of the grid's
    frame = pd.DataFrame({"graph": ["star", "complete", "ring"] * 2,
                          "asr": [1.0, 0.5, 0.2, 0.9, 0.4, 0.1], "alpha": [0.3] * 3 + [0.7] * 3})
    ax = plot_sweep(frame, x="graph", y="asr", hue="alpha")
    assert all(line.get_linestyle() == "None" for line in ax.lines)
    assert {line.get_marker() for line in ax.lines} == {"o", "s"}
    ax.figure.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["star", "complete", "ring"]
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [0.9, 0.4, 0.1])


def test_influence_map_scale_starts_at_zero_for_an_all_zero_matrix():
    # before: a -0.1..0.1 colour bar, though the scale starts at 0
    ax = plot_influence(np.zeros((4, 4)))
    assert ax.images[0].get_clim() == (0.0, 1.0)


@pytest.mark.parametrize(("value", "message"), [
    (-0.3, r"^M: influence weights are non-negative; M\[1, 2\] = -0.3"),
    (np.nan, r"^M: expected finite influence weights; M\[1, 2\] = nan"),
    (np.inf, r"^M: expected finite influence weights; M\[1, 2\] = inf"),
])
def test_influence_map_refuses_negative_and_missing_weights(value, message):
    # before: a negative weight was drawn in the colour of 0, NaN white with no key
    M = np.full((4, 4), 0.25)
    M[1, 2] = value
    M[3, 0] = value
    before = plt.get_fignums()
    with pytest.raises(ValueError, match=message):
        plot_influence(M)
    assert plt.get_fignums() == before
    M = np.full((3, 3), 1 / 3)
    M[0, 1] = -1e-17  # round-off of a solve: drawn as 0
    assert plot_influence(M).images[0].get_clim()[0] == 0


def test_influence_map_scales_to_the_off_diagonal_weights_by_default():
    # before: on a 150-agent BA graph the self-weights (0.34-0.41) set the scale and the
    # off-diagonal weights (below 0.17, most below 0.01) were all one dark colour
    import multiagent as ma

    G = ma.make_graph("ba", 150, seed=0)
    M = ma.FriedkinJohnsen.from_adjacency(ma.adjacency(G), gamma=0.2,
                                          alpha=0.5).influence_matrix()
    off = M[~np.eye(150, dtype=bool)]
    ax = plot_influence(M)
    image = ax.images[0]
    assert image.get_clim() == pytest.approx((0, off.max()))
    assert np.ma.getmaskarray(image.get_array()).diagonal().all()  # drawn grey
    label = ax.figure.axes[-1].get_ylabel()
    assert "i \\neq j" in label and f"{np.diag(M).min():.2f}" in label
    # the old figure on request: the diagonal on the same scale
    same = plot_influence(M, diagonal=True).images[0]
    assert same.get_clim() == pytest.approx((0, np.diag(M).max()))
    # up to 20 agents the grey diagonal cells show their values
    small = plot_influence(np.array([[0.6, 0.4], [0.1, 0.9]]))
    assert [t.get_text() for t in small.texts] == ["0.6", "0.9"]


@pytest.mark.parametrize("draw", ["influence", "sweep-many"])
def test_more_figures_made_here_keep_their_labels_inside(draw):
    # before: plot_influence made a figure without a layout, so a plain savefig cut the
    # y label of a 150-agent map; a sweep's legend beside the axes must fit too
    if draw == "influence":
        ax = plot_influence(np.full((150, 150), 1 / 150))
        artists = [ax.xaxis.label, ax.yaxis.label, ax.figure.axes[-1].yaxis.label]
    else:
        frame = pd.DataFrame({"alpha": np.tile([0.0, 0.5], 12), "asr": np.linspace(0, 1, 24),
                              "gamma": np.repeat(np.linspace(0.05, 0.9, 12), 2)})
        ax = plot_sweep(frame, x="alpha", y="asr", hue="gamma")
        artists = [ax.xaxis.label, ax.yaxis.label, ax.get_legend()]
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for artist in artists:
        box = artist.get_window_extent(renderer)
        assert (box.x0 >= 0 and box.y0 >= 0 and box.x1 <= fig.bbox.width
                and box.y1 <= fig.bbox.height), artist


def test_plots_draw_on_the_given_axes_without_a_new_figure():
    _, ax = plt.subplots()
    _, ax2 = plt.subplots()
    before = plt.get_fignums()
    frame = pd.DataFrame({"gamma": [0.1, 0.2], "asr": [0.5, 0.2]})
    assert plot_trajectories(_beliefs(3), ax=ax, names=["a", "b", "c"]) is ax
    assert plot_sweep(frame, x="gamma", y="asr", ax=ax) is ax
    assert plot_influence(np.eye(3), ax=ax2) is ax2
    assert plt.get_fignums() == before


def test_a_whole_simulation_or_its_stack_of_questions_is_refused_by_name():
    # the objects a user has at hand: a SimulationResult gave numpy's "tuple index out of
    # range", its (questions, T + 1, n, K) trajectories matplotlib's "x and y can be no
    # greater than 2D"
    import multiagent as ma

    result = ma.simulate(ma.Scenario(graph="star", adversaries=(ma.Adversary("hub"),)),
                         questions=2, seed=0)
    with pytest.raises(TypeError, match=r"^trajectory: .*got a SimulationResult; pass "
                                        r"result\.trajectories\[q\]"):
        plot_trajectories(result)
    with pytest.raises(ValueError, match=r"^trajectory: .*got shape \(2, \d+, \d+, \d+\); a "
                                         r"\(questions, T \+ 1, n, K\) stack"):
        plot_trajectories(result.trajectories)
    bare = ma.simulate(ma.Scenario(graph="star", adversaries=(ma.Adversary("hub"),)),
                       questions=2, seed=0, keep_trajectories=False)
    with pytest.raises(TypeError, match=r"it kept no trajectories: simulate again with "
                                        r"keep_trajectories=True$"):
        plot_trajectories(bare)
    ax = plot_trajectories(result.trajectories[0], option=int(result.truth[0]))
    assert len(ax.get_lines()) == result.trajectories.shape[2]  # one line per agent
    plt.close(ax.figure)


def _pixels_at_the_top_of_the_scale(ax, dpi=120):
    """Pixels inside the map's axes in the colour of the top of its scale (saved PNG)."""
    import io

    fig = ax.figure
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    buffer.seek(0)
    pixels = plt.imread(buffer)[..., :3]
    height, scale = pixels.shape[0], dpi / fig.dpi
    box = ax.get_window_extent()
    inner = pixels[int(height - box.y1 * scale) + 2:int(height - box.y0 * scale) - 2,
                   int(box.x0 * scale) + 2:int(box.x1 * scale) - 2]
    top = np.array(ax.images[0].cmap(1.0)[:3])
    return int((np.abs(inner - top).max(axis=-1) < 0.1).sum())


def test_influence_map_of_thousands_of_agents_shows_each_lone_strong_weight():
    # before: imshow's default antialiasing averaged each cell with its neighbours: at 2,000
    # agents (one weight of 0.5 off the diagonal a row, the scale's top) no pixel of the
    # saved map had the top colour (0 of ~2,000 weights); now each cell shows the largest
    # weight of its k x k block, as the colour bar's label says
    n = 2000
    rng = np.random.default_rng(1)
    M = np.zeros((n, n))
    M[np.arange(n), np.arange(n)] = 0.5
    M[np.arange(n), (np.arange(n) + rng.integers(1, n, n)) % n] = 0.5
    ax = plot_influence(M)
    assert _pixels_at_the_top_of_the_scale(ax) > n
    assert "each cell the largest of" in ax.figure.axes[-1].get_ylabel()
    assert ax.get_xlim() == (-0.5, n - 0.5)  # the agents' own coordinates
    # 120 agents: a cell each, drawn alone (before: 98 top-colour pixels for 120 weights)
    small = plot_influence(M[:120, :120] + np.eye(120)[::-1] * 0.5)
    assert _pixels_at_the_top_of_the_scale(small) > 3 * 120
    assert "each cell" not in small.figure.axes[-1].get_ylabel()


def test_trajectory_of_a_single_round_is_marked_and_non_finite_opinions_are_refused():
    # before: a (1, n) trajectory drew empty axes (a line through one point draws nothing)
    # and NaN or inf opinions were drawn as silent gaps
    ax = plot_trajectories(np.array([[0.2, 0.5, 0.9]]), adversaries=[2])
    assert all(line.get_marker() not in (None, "", "None") for line in ax.lines)
    assert list(ax.get_xticks()) == [0]  # round 0, not -0.05..0.05 in fractions of a round
    from matplotlib.collections import PathCollection

    many = plot_trajectories(np.linspace(0, 1, 30)[None, :])  # one colour, one artist
    (dots,) = [c for c in many.collections if isinstance(c, PathCollection)]
    assert len(dots.get_offsets()) == 30
    # two rounds or more keep their plain lines
    assert plot_trajectories(_beliefs(3), option=0).lines[0].get_marker() in (None, "None")
    before = plt.get_fignums()
    for value, text in ((np.nan, "nan"), (np.inf, "inf")):
        bad = np.full((3, 4), 0.5)
        bad[2, 1] = value
        with pytest.raises(ValueError, match=rf"^trajectory: expected finite opinions; "
                                             rf"trajectory\[2, 1\] = {text} \(round 2, agent 1\)"):
            plot_trajectories(bad)
    beliefs = _beliefs(3)
    beliefs[1, 0, 2] = np.nan
    with pytest.raises(ValueError, match=r"trajectory\[1, 0, 2\] = nan"):
        plot_trajectories(beliefs)
    assert plt.get_fignums() == before


def test_trajectory_names_given_as_a_set_are_refused():
    # a set labelled the curves in its hash order, another one in each process
    import matplotlib.pyplot as plt

    from multiagent.plot import plot_trajectories

    with pytest.raises(TypeError, match=r"names: expected a list .* got a set"):
        plot_trajectories(np.zeros((3, 2)), names={"ann", "bob"})
    plt.close("all")
