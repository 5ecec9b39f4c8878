"""Command line for ``prunus fj``: simulate attacked debates and fit FJ to transcripts."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli import CommandError, existing_file

_GRAPHS = ("complete", "star", "ring", "chain", "wheel", "tree", "er", "ba")


def _unit(value: str) -> float:
    x = float(value)
    if not 0 <= x <= 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {value}")
    return x


def _simulate(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from core.atomic import atomic_path, write_json
    from multiagent.adversary import Adversary, Scenario, closed_form_weight, simulate
    from multiagent.plot import plot_trajectories

    if args.n < 2:
        raise CommandError(f"--n must be >= 2, got {args.n}")
    advs: tuple[Adversary, ...] = ()
    if args.adversary != "none":
        pos: str | int = args.adversary
        if pos not in ("hub", "leaf"):
            try:
                pos = int(pos)
            except ValueError as exc:
                raise CommandError(
                    f"--adversary must be hub, leaf, none or an agent index, got {pos!r}"
                ) from exc
        advs = (Adversary(pos, gamma=args.adversary_gamma, persuasion=args.persuasion,
                          sleeper=args.sleeper),)
    scenario = Scenario(graph=args.graph, n=args.n, gamma=args.gamma, alpha=args.alpha,
                        adversaries=advs, rounds=args.rounds, n_options=args.options,
                        seed=args.seed)
    result = simulate(scenario, questions=args.questions, seed=args.seed)
    out = Path(args.out)
    nodes = scenario.adversary_nodes()
    Q, T1, n, K = result.trajectories.shape
    idx = pd.MultiIndex.from_product([range(Q), range(T1), range(n), range(K)],
                                     names=["question", "round", "agent", "option"])
    frame = pd.DataFrame({"belief": result.trajectories.ravel()}, index=idx).reset_index()
    frame["role"] = ["adversary" if a in nodes else "benign" for a in frame["agent"]]
    frame["truth"] = result.truth[frame["question"].to_numpy()]
    with atomic_path(out / "trajectories.csv") as tmp:
        frame.to_csv(tmp, index=False)
    metrics = dict(result.metrics)
    closed = None
    if advs and args.adversary_gamma == 1.0:
        key = {"complete": "complete", "star": f"star_{args.adversary}"}.get(args.graph)
        if key in ("complete", "star_hub", "star_leaf"):
            closed = closed_form_weight(key, args.n, args.gamma, args.alpha,
                                        persuasion=args.persuasion)["mean"]
    metrics["adversary_weight_closed_form"] = closed
    metrics["adversary_nodes"] = nodes
    metrics["parameters"] = {k: v for k, v in vars(args).items() if k != "func"}
    write_json(metrics, out / "metrics.json")
    fig, ax = plt.subplots(figsize=(6, 3.6))
    plot_trajectories(result.trajectories[0], option=int(result.truth[0]), adversaries=nodes,
                      ax=ax, title=f"{args.graph}, n={args.n}, adversary={args.adversary}")
    fig.tight_layout()
    with atomic_path(out / "trajectories.png") as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    print(f"ASR {metrics['asr']:.3f}  benign accuracy {metrics['accuracy_start']:.3f} -> "
          f"{metrics['accuracy_end']:.3f}  adversary weight {metrics['adversary_weight']:.4f}")
    print(f"wrote {out / 'trajectories.csv'}, {out / 'metrics.json'}, {out / 'trajectories.png'}")
    return 0


def _fit(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from core.atomic import atomic_path, write_json
    from multiagent.fit import fit_fj, fit_transcripts

    path = Path(args.data)
    if path.suffix == ".npy":
        X = np.load(path)
        if X.ndim == 3:
            X = X[None]
        if X.ndim != 4:
            raise CommandError(f"{path} must hold (rounds + 1, agents, options) or "
                               f"(questions, rounds + 1, agents, options), got {X.shape}")
    else:
        frame = pd.read_csv(path)
        need = {"round", "agent", "option", "belief"}
        if not need <= set(frame.columns):
            raise CommandError(f"{path} needs columns {sorted(need)}, has {list(frame.columns)}")
        if "question" not in frame.columns:
            frame = frame.assign(question=0)
        codes, _ = pd.factorize(frame["question"], sort=True)
        shape = (codes.max() + 1,) + tuple(int(frame[c].max()) + 1
                                           for c in ("round", "agent", "option"))
        X = np.full(shape, np.nan)
        X[codes, frame["round"], frame["agent"], frame["option"]] = frame["belief"]
        if np.isnan(X).any():
            raise CommandError(f"{path} does not hold every (question, round, agent, option) "
                               "belief")
    options = dict(per_agent=args.per_agent, train_rounds=args.train_rounds, loss=args.loss)
    table = fit_transcripts(X, **options)
    out = Path(args.out)
    with atomic_path(out / "fits.csv") as tmp:
        table.to_csv(tmp, index=False)
    fit_fj(X[0], **options).save(out / "fit.json")  # full parameters of the first transcript
    summary = table.drop(columns=["transcript"]).mean().to_dict()
    write_json({"transcripts": int(len(table)), "mean": summary}, out / "metrics.json")
    print(f"{len(table)} transcript(s): mean gamma {summary['gamma']:.3f}, mean alpha "
          f"{summary['alpha']:.3f}, mean RMSE {summary['rmse']:.4f}")
    print(f"wrote {out / 'fits.csv'}, {out / 'fit.json'}, {out / 'metrics.json'}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fj", help="Friedkin-Johnsen agent networks: attacks, defenses, fitting",
        description="Friedkin-Johnsen opinion dynamics for agent networks "
                    "(gamma = stubbornness, alpha = peer-resistance).",
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    sim = sub.add_parser("simulate", help="simulate a debate with an adversary")
    sim.add_argument("--graph", choices=_GRAPHS, default="complete")
    sim.add_argument("--n", type=int, default=6, help="agents, adversary included")
    sim.add_argument("--adversary", default="hub", help="hub, leaf, none or an agent index")
    sim.add_argument("--gamma", type=_unit, default=0.2, help="benign stubbornness")
    sim.add_argument("--alpha", type=_unit, default=0.5, help="benign peer-resistance")
    sim.add_argument("--adversary-gamma", type=_unit, default=1.0)
    sim.add_argument("--persuasion", type=float, default=1.0,
                     help="multiplier on the trust others place in the adversary")
    sim.add_argument("--sleeper", type=int, default=0, help="benign rounds before attacking")
    sim.add_argument("--rounds", type=int, default=10)
    sim.add_argument("--options", type=int, default=5)
    sim.add_argument("--questions", type=int, default=20)
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--out", required=True, help="output folder")
    sim.set_defaults(func=_simulate)
    fit = sub.add_parser("fit", help="fit gamma, alpha and trust to debate transcripts")
    fit.add_argument("data", type=existing_file,
                     help="CSV with [question,] round, agent, option, belief (as simulate "
                          "writes) or .npy; one fit per question")
    fit.add_argument("--per-agent", action="store_true")
    fit.add_argument("--train-rounds", type=int, default=None)
    fit.add_argument("--loss", choices=("mse", "kl"), default="mse")
    fit.add_argument("--out", required=True)
    fit.set_defaults(func=_fit)
