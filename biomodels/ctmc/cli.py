"""Command line for ``prunus ctmc``.

``prunus ctmc fit DATA.csv [--l1 X] [--method auto|exact|mcmc] [--seed S] --out DIR`` writes
``DIR/theta.csv`` (rows = affected event i, columns = influencing event j, diagonal = log base
rates), ``DIR/metrics.json`` (held-out log-likelihood per tumour by 5-fold CV, with the
independence model for reference), ``DIR/model.json`` and ``DIR/theta.png``. ``--weights
COLUMN`` (with ``--l1``) reads a deduplicated cohort: that column counts the tumours of each
row (``CTMC.fit(sample_weight=...)``); ``metrics.json``'s ``n_tumours`` and ``total_weight``
are then the number of tumours (the sum of the counts) and ``n_rows`` the file's rows.
``--restarts N`` adds N fits from random starts to each fit (the final one and every
fold's), keeping the best (``CTMC.fit(restarts=N)``);
``metrics.json`` then records the final fit's starts under ``restarts``. ``--l1-grid
X,Y,...`` sets the strengths the cross-validation chooses from (``CTMC.fit(l1_grid=...)``).
Every fold fit of the cross-validation, the L1 choice's or (with ``--l1``) the held-out
score's and its independence baseline's, is recorded in ``DIR/cv_checkpoint.json`` as it
finishes; a rerun of the same command after an interruption skips them, and the file is
removed once the outputs are written. ``--model omhn`` fits the observation MHN (``mhn``'s
default, ``CTMC.fit(model="omhn")``): ``theta.csv`` gets its observation row appended as the
row ``Observation``, ``model.json`` is of format ``prunus.ctmc/2`` with ``"model": "omhn"``
and ``metrics.json`` adds ``model`` and ``nonzero_observation_effects``. ``metrics.json``'s
``converged`` and ``n_steps`` say whether the final fit's stopping rule fired and after how
many steps; a fit that ends at its step limit instead warns, and ``--max-steps N`` raises
that limit for the final fit and the held-out fold fits (``CTMC.fit(max_steps=N)``;
``metrics.json`` then records ``max_steps``).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

from core.cli import (
    CommandError,
    at_least,
    command_required,
    example_help,
    existing_file,
    options_in_errors,
    output_folder,
    random_seed,
    warn_ignored,
)

#: Arguments of the library that ``prunus ctmc fit`` sets, and its options: the library's
#: messages name the arguments (``method='exact': ... Use method='mcmc'``), which stay as
#: they are for Python users; the command rewords them. Options with choices show the
#: value as it is typed (``--method mcmc``).
_OPTIONS = {"method": "--method", "l1": "--l1", "restarts": "--restarts",
            "max_steps": "--max-steps", "optimizer": "--optimizer"}
_CHOICES = {"method", "optimizer"}
#: The example that ends each command's --help: README's line, as a user would type it
_EXAMPLES = {
    "fit": "prunus ctmc fit cohort.csv --method auto --seed 0 --out results/",
}


def _l1_grid(value: str) -> list[float]:
    """Argparse type for ``--l1-grid``: comma-separated finite strengths >= 0, at least one."""
    parts = [p.strip() for p in value.split(",")]
    if not all(parts):  # "0.01,,0.1" or a trailing comma
        raise argparse.ArgumentTypeError(
            f"expected comma-separated L1 strengths such as 0.001,0.01,0.1, got {value!r}")
    return [at_least(0.0)(p) for p in parts]


def _fit(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from biomodels.ctmc.crossval import (
        _heldout_theta,
        _say_step_limits,
        _step_limits_to,
        kfold_indices,
    )
    from biomodels.ctmc.fit import data_log_likelihood, fit_theta, independence_fit
    from biomodels.ctmc.model import CTMC
    from biomodels.ctmc.omhn import classical_theta
    from biomodels.ctmc.plot import plot_theta
    from core.atomic import atomic_outputs, write_json
    from core.cli import figures_locked

    if args.weights is not None and args.l1 is None:
        # CTMC.fit would refuse after reading the file, naming sample_weight and l1
        raise CommandError(f"--weights {args.weights} needs --l1: the L1 strength is chosen "
                           "by cross-validation only for a cohort of one row per tumour; give "
                           "--l1 (e.g. 1 / the number of tumours, or the value a fit of the "
                           "cohort with repeated rows chose)")
    ignored = ["--one-se"] * args.one_se + ["--l1-grid"] * (args.l1_grid is not None)
    if args.l1 is not None and ignored:
        verb = "it chooses" if len(ignored) == 1 else "they choose"
        warn_ignored(ignored, f"{verb} the L1 strength, and --l1 {args.l1:g} gives it")
    # warnings reach the user as one line each through the prunus front (core.cli)
    counts = None
    try:
        if args.weights is None:
            x, names, _ = _read_cohort(args.data)
        else:
            x, names, counts = _read_counted_cohort(args.data, args.weights)
    except ValueError as exc:  # read_cohort names the file
        # its hint "pass sep=" is for Python: the command line has no such option
        message = str(exc).replace(
            "(pass sep= for another separator)",
            "(the command line reads ',' from .csv files and tabs from .tsv, .txt and .tab "
            "files)")
        raise CommandError(message) from exc
    # the held-out folds split tumours: a counted cohort's rows repeated by their counts (the
    # cohort before deduplication; its fold fits are those of the repeated rows)
    x_cv = x if counts is None else np.repeat(x, counts.astype(np.int64), axis=0)
    if args.folds > len(x_cv):  # kfold_indices would say "folds must be in [2, N]" after the fit
        raise CommandError(f"--folds {args.folds} needs at least {args.folds} tumours, and "
                           f"{args.data} has {len(x_cv)}; the held-out log-likelihood is "
                           "cross-validated, so give fewer --folds (at least 2) or more "
                           "tumours")
    model = CTMC()
    # only when given: a default run's fits (and their checkpoint signature) are as before
    steps = {} if args.max_steps is None else {"max_steps": args.max_steps}
    # a rerun of an interrupted command skips the fold fits already done: those of the L1
    # choice (select_l1's checkpoint) or, with --l1, those of the held-out score below
    checkpoint = Path(args.out) / "cv_checkpoint.json"
    resumes = checkpoint.exists()
    folds = kfold_indices(len(x_cv), args.folds, seed=args.seed)
    fixed_cv = None
    if args.l1 is not None:
        # read before the final fit: a checkpoint of other settings stops the command at once
        fixed_cv = _FixedL1Checkpoint(checkpoint, x_cv, args)
        try:
            fixed_cv.read()
        except ValueError as exc:  # all of them about the file
            raise _checkpoint_error(exc, checkpoint) or exc from exc
        if resumes:  # said once the file is known to be this run's (not before a refusal)
            print(f"prunus: note: resuming the cross-validation from {checkpoint}",
                  file=sys.stderr)
    # around the try: the checkpoint's messages get their own wording there first, and
    # what is left ("method='exact': a tumour carries 30 events") names the options here
    with options_in_errors(_OPTIONS, _CHOICES):
        try:
            model.fit(
                x, l1=args.l1, method=args.method, event_names=names, seed=args.seed,
                folds=args.folds, checkpoint=checkpoint, progress=not args.quiet,
                restarts=args.restarts, one_se=args.one_se, l1_grid=args.l1_grid,
                model=args.model, optimizer=args.optimizer, **steps,
                **({} if counts is None else {"sample_weight": counts}),
            )
        except ValueError as exc:
            error = _checkpoint_error(exc, checkpoint) if resumes else None
            if error is not None:
                raise error from exc
            raise
    if resumes and fixed_cv is None:
        # select_l1 reads the file inside the fit (its progress bar starts at the fits it
        # found): said after it, as a refused file is refused before any fit
        print(f"prunus: note: resumed the cross-validation from {checkpoint}",
              file=sys.stderr)
    cv_done = model.cv_scores.get(model.l1)  # l1 chosen by CV on these same folds
    held = [float(v) for v in cv_done] if cv_done is not None else []
    indep = []

    def scored(key: str, fit: Any, train: Any, test: Any) -> float:
        """Score ``fit(training tumours)`` on the test fold, or take the checkpoint's score."""
        if fixed_cv is not None and key in fixed_cv.scores:
            return fixed_cv.scores[key]
        theta = torch.as_tensor(_heldout_theta(fit(x_cv[train]), len(train)))
        score = float(data_log_likelihood(theta, x_cv[test]).mean())
        if fixed_cv is not None:  # with --l1 every fit is checkpointed as it finishes
            fixed_cv.record(key, score)
        return score

    omhn = args.model == "omhn"

    # the fold fits that stopped at their step limit or where their line search stalled,
    # said once for all of them (a line per fold before), and how many finished (a resumed
    # run skips those of its checkpoint)
    stopped: list[Any] = []
    ran = []

    def fold_fit(xt: Any) -> Any:
        """Fit the fold as the final fit; return its classical theta (scored the same)."""
        with _step_limits_to(stopped):
            res = fit_theta(xt, l1=model.l1, method=args.method, seed=args.seed,
                            progress=not args.quiet, restarts=args.restarts,
                            optimizer=args.optimizer, **steps,
                            **({"model": "omhn"} if omhn else {}))
        ran.append(1)  # finished: one that Ctrl-C stopped is fitted again by the rerun
        return classical_theta(res.theta) if omhn else res.theta

    # the fold fits' warnings (a step limit: max_steps=N) name the options, as the final fit's
    with options_in_errors(_OPTIONS, _CHOICES):
        try:
            for k, test in enumerate(folds):
                train = np.setdiff1d(np.arange(len(x_cv)), test)
                if cv_done is None:
                    # the restarts of the final fit, as the cross-validation's fold fits
                    held.append(scored(f"{model.l1!r}/{k}", fold_fit, train, test))
                # base rates floored as in the cross-validation: an event absent from the
                # training tumours scored -27 nats a carrier here against -17.5 for the MHN
                indep.append(scored(f"independence/{k}", lambda xt: independence_fit(
                    xt, method=args.method, seed=args.seed), train, test))
        except BaseException:
            # said before Ctrl-C or an error ends the command: the folds done are in the
            # checkpoint, and a rerun skips them, so their stops were never said (the
            # error that stopped it wins over a warning made an error)
            with contextlib.suppress(Exception):
                _say_step_limits(stopped, len(ran), chooses_l1=False)
            raise
        # (the independence baseline's fits take no --max-steps: not counted)
        _say_step_limits(stopped, len(ran), chooses_l1=False)
    out = args.out
    if counts is None:
        full_ll = float(model.log_likelihood(x).mean())
    else:  # per tumour: each row counts as many times as its count says
        full_ll = float(np.average(model.log_likelihood(x), weights=counts))
    off = model.theta - np.diag(np.diag(model.theta))
    # an oMHN's penalty covers its observation row too (as mhn's)
    penalised = float(np.abs(off).sum()) + (float(np.abs(model.omega).sum()) if omhn else 0.0)
    metrics = dict(
        heldout_loglik_per_tumour=float(np.mean(held)),
        heldout_loglik_folds=held,
        # with L1 chosen by cross-validation the held-out figure is the chosen L1's CV
        # score on the same folds: slightly optimistic (the choice saw those folds)
        l1_chosen_on_these_folds=cv_done is not None,
        independence_heldout_loglik_per_tumour=float(np.mean(indep)),
        train_loglik_per_tumour=full_ll,
        penalised_loglik_per_tumour=full_ll - model.l1 * penalised,
        l1=model.l1,
        l1_cv_scores={str(k): float(np.mean(v)) for k, v in model.cv_scores.items()},
        folds=args.folds,
        method=model.fit_info["method"],
        # the tumours: a counted cohort's rows repeated by their counts (its rows: n_rows)
        n_tumours=int(x_cv.shape[0]),
        n_events=int(x.shape[1]),
        nonzero_effects=int((off != 0).sum()),
        seed=args.seed,
        # the KKT residual of the L1 problem (0 at a local optimum); None where MCMC sampled
        # orderings
        optimality=model.fit_info["optimality"],
        # whether the final fit's stopping rule fired, and after how many steps (it warns
        # when its step limit ended it instead)
        converged=model.fit_info["converged"],
        n_steps=model.fit_info["n_steps"],
    )
    if args.max_steps is not None:  # only with the option: a default run's metrics as before
        metrics["max_steps"] = args.max_steps
    if args.optimizer != "auto":  # only with the option: a default run's metrics as before
        metrics["optimizer"] = args.optimizer
    if "restarts" in model.fit_info:  # only with --restarts: the objective of every start
        metrics["restarts"] = model.fit_info["restarts"]
    if args.one_se:  # only with the option: a default run's metrics are as before
        metrics["one_se"] = True
    if omhn:  # only with --model omhn: a default run's metrics are as before
        metrics["model"] = "omhn"
        metrics["nonzero_observation_effects"] = int(np.count_nonzero(model.omega))
    if counts is not None:  # only with --weights: a default run's metrics are as before
        metrics["weights"] = args.weights
        metrics["total_weight"] = model.fit_info["total_weight"]
        # the file's rows (genotypes), rows of count 0 included; n_tumours was this number,
        # which read as the cohort's size beside total_weight (CTMC.fit_info's n_tumours
        # still counts the rows)
        metrics["n_rows"] = int(x.shape[0])
    if args.l1_grid is not None:  # only with the option: a default run's metrics as before
        metrics["l1_grid"] = args.l1_grid
    from core.provenance import environment

    # the versions and torch threads the numbers came from, to reproduce them
    metrics["environment"] = environment()
    # matplotlib under the process's figure lock (runs of main() in a thread pool); the
    # files are written outside it
    with figures_locked():
        ax = plot_theta(model.theta_frame())
    try:
        with atomic_outputs(out) as stage:  # all four files, or none replaced
            model.theta_frame().to_csv(stage / "theta.csv", index_label="affected\\influencing")
            model.save(stage / "model.json")
            write_json(metrics, stage / "metrics.json")
            with figures_locked():
                ax.figure.savefig(stage / "theta.png", dpi=150, bbox_inches="tight",
                                  format="png")
    finally:
        with figures_locked() as plt:
            plt.close(ax.figure)
    checkpoint.unlink(missing_ok=True)  # the outputs are complete
    note = " (L1 chosen on these folds)" if cv_done is not None else ""
    print(
        f"held-out log-likelihood per tumour {np.mean(held):.4f}{note} "
        f"(independence {np.mean(indep):.4f}); wrote {out}/theta.csv, model.json, "
        "metrics.json, theta.png"
    )
    return 0


def _checkpoint_error(exc: ValueError, checkpoint: Path) -> CommandError | None:
    """Word a checkpoint the run cannot resume from as the command's one-line error.

    Returns None when ``exc`` is not about the checkpoint.
    """
    text = str(exc)
    if "belongs to another cross-validation" in text:
        # "(differs in: l1)": the library's advice ("delete it or pass another path") is for
        # Python, and the run it names may still be going (another command into this --out)
        start = text.find("(differs in")
        detail = (text[start:] if start >= 0 else f"({text})").removesuffix(
            "; delete it or pass another path")
        return CommandError(
            f"{checkpoint} is from another run (interrupted, or still running) with other "
            f"settings {detail}; if it was interrupted, rerun that command to finish it; to "
            "start afresh, delete the file if no run is using it, or use another --out"
        )
    if str(exc).startswith("checkpoint"):
        # a damaged or foreign file: "other settings" sent the user looking for a run
        # that never was; the library's message says what is wrong
        detail = str(exc).removesuffix("; delete it to start afresh")
        return CommandError(f"cannot resume the cross-validation: {detail}; delete it (or "
                            "use another --out) to start afresh")
    return None


class _FixedL1Checkpoint:
    """The checkpoint of the held-out score's fold fits with ``--l1`` (no L1 choice).

    Written as :func:`~biomodels.ctmc.crossval.select_l1`'s (same format, atomically after
    every fit), with the strength in place of the grid in its signature, so that either
    refuses the other's file; ``scores`` holds ``"{l1!r}/{k}"`` (the fold fits) and
    ``"independence/{k}"`` (the baseline's). Without it an interrupted run started afresh.

    Parameters
    ----------
    path
        The checkpoint file.
    x_cv
        The tumours the folds split (a counted cohort's rows repeated by their counts).
    args
        The command's arguments: ``l1``, ``folds``, ``seed``, ``method``, ``optimizer``,
        ``restarts``, ``model`` and ``max_steps`` decide the fold scores and so make up the
        signature.
    """

    def __init__(self, path: Path, x_cv: Any, args: argparse.Namespace) -> None:
        import hashlib

        import numpy as np

        from biomodels.ctmc.crossval import _setting_key

        # the fold fits' settings as CTMC.fit hands them to select_l1 (fit_theta's defaults
        # for the rest), so that a run choosing the L1 strength differs in grid and l1 only
        fit: dict[str, Any] = {"method": args.method, "sparsity": "proximal",
                               "optimizer": getattr(args, "optimizer", "auto")}
        if args.restarts:  # as CTMC.fit passes it on: only when given
            fit["restarts"] = args.restarts
        if args.model == "omhn":  # as CTMC.fit passes it on: only for an oMHN
            fit["model"] = "omhn"
        if getattr(args, "max_steps", None) is not None:  # as CTMC.fit: only when given
            fit["max_steps"] = args.max_steps
        self.path = path
        self.signature = {
            "data_sha1": hashlib.sha1(np.ascontiguousarray(x_cv).tobytes()).hexdigest(),
            "shape": list(x_cv.shape), "l1": float(args.l1), "folds": args.folds,
            "seed": args.seed, "fit": {k: _setting_key(v) for k, v in sorted(fit.items())},
            "score": "heldout, base rates >= -log(N_train + 1)",
        }
        self.scores: dict[str, float] = {}

    def read(self) -> None:
        """Load the scores of an earlier run; ValueError if the file is of other settings."""
        from biomodels.ctmc.crossval import _read_cv_checkpoint

        if self.path.exists():
            self.scores = _read_cv_checkpoint(self.path, self.signature)

    def record(self, key: str, score: float) -> None:
        """Add one fit's score and rewrite the file (atomically: a kill leaves the last one)."""
        from biomodels.ctmc.crossval import _CHECKPOINT_FORMAT
        from core.atomic import write_json

        self.scores[key] = score
        write_json({"format": _CHECKPOINT_FORMAT, "signature": self.signature,
                    "scores": self.scores}, self.path)


def _read_cohort(path: Path) -> tuple[Any, list[str], list[str]]:
    """Read a cohort of one row per tumour (no ``--weights``).

    :func:`~biomodels.ctmc.data.read_cohort`, whose error about a column named as counts
    (``count``, ``n``, ...) and warning about one of only 0 and 1 say to read it with
    ``weights='count'``: here they name the option, ``--weights count (and --l1)``.
    Returns the 0/1 matrix, the event names and the sample ids.
    """
    from biomodels.ctmc.data import COUNTS_HINT, read_cohort

    # a context variable, as WEIGHTS_LABEL: runs of main() in threads keep their own
    token = COUNTS_HINT.set("--weights {} (and --l1)")
    try:
        return read_cohort(path)
    finally:
        COUNTS_HINT.reset(token)


def _read_counted_cohort(path: Path, column: str) -> tuple[Any, list[str], Any]:
    """Read a cohort whose ``column`` counts the tumours of each row (``--weights``).

    :func:`~biomodels.ctmc.data.read_cohort` with ``weights=column`` reads and checks it;
    its messages, which name the argument (``weights='n': ...``), name the option here
    (``--weights n: ...``). Returns the 0/1 matrix, the event names and the counts
    (float64, whole numbers >= 0, not all 0).
    """
    from biomodels.ctmc.data import WEIGHTS_LABEL, read_cohort

    # the column unquoted, as typed: "weights='n'" became "--weights 'n'" through
    # option_names, and a name with a space did not match its pattern at all. Named through
    # a context variable: rewording caught warnings took warnings.catch_warnings, which
    # swaps the filters of the whole process (runs in threads left "always" in them)
    token = WEIGHTS_LABEL.set(f"--weights {column}")
    try:
        x, names, _, counts = read_cohort(path, weights=column)
    finally:
        WEIGHTS_LABEL.reset(token)
    return x, names, counts


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``prunus ctmc fit`` and its sibling commands to the ``prunus`` command line.

    Parameters
    ----------
    subparsers
        The ``prunus`` parser's subcommands (found through the ``prunus.commands`` entry
        point).
    """
    parser = subparsers.add_parser(
        "ctmc", help="CTMC (mutual hazard network) models of mutation accumulation"
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    parser.set_defaults(func=command_required(parser))
    fit = sub.add_parser(
        "fit",
        help="fit theta to a 0/1 tumours x events table",
        description="Fit an L1-penalised MHN (rows = affected event) and report the held-out "
        "log-likelihood per tumour over --folds folds (default 5). Writes DIR/theta.csv "
        "(rows = affected event i, columns = influencing event j, diagonal = log base rates), "
        "DIR/metrics.json (held-out log-likelihoods), DIR/model.json and the heatmap "
        "DIR/theta.png. Cross-validation progress is checkpointed to DIR/cv_checkpoint.json; "
        "rerunning the same command after an interruption resumes. A deduplicated cohort "
        "(one row per genotype and a column counting its tumours) fits with --weights COLUMN "
        "and --l1 as the cohort with repeated rows; metrics.json then gives the total_weight "
        "and n_tumours (the number of tumours) and n_rows (the file's rows). metrics.json's "
        "optimality is the fit's first-order optimality (the KKT residual of the L1 "
        "problem, 0 at a local optimum; null "
        "where MCMC sampled orderings). The L1 problem has several local optima: --restarts N "
        "fits from N random starts besides the default one and keeps the best; metrics.json's "
        "restarts then lists the penalised objective of every start. --model omhn fits the "
        "observation MHN (mhn's default model): theta.csv gets the events' effects on the "
        "observation rate as a last row named Observation, model.json says \"model\": "
        "\"omhn\". metrics.json's converged and n_steps say whether the fit's stopping rule "
        "fired and after how many steps; a fit that ends at its step limit instead warns "
        "(raise it with --max-steps).",
        # on a line of its own, never wrapped (argparse wrapped it on narrow terminals)
        **example_help(_EXAMPLES["fit"]),
    )
    fit.add_argument(
        "data",
        metavar="DATA.csv",
        type=existing_file,
        help="CSV/TSV, rows = tumours, columns = events (0/1), header = event names; "
        "an optional first column of sample ids",
    )
    fit.add_argument(
        "--l1",
        metavar="X",
        type=at_least(0.0),
        default=None,
        help="L1 strength on interactions (default: chosen by cross-validation)",
    )
    fit.add_argument(
        "--l1-grid",
        metavar="X,Y,...",
        type=_l1_grid,
        default=None,
        help="without --l1: the L1 strengths cross-validation chooses from, comma-separated "
        "(default: 5 log-spaced from 0.1/N to 10/N for N tumours); a warning says when the "
        "best lies at an end of the grid",
    )
    fit.add_argument(
        "--method",
        choices=["auto", "exact", "mcmc"],
        default="auto",
        help="exact subset/state-space likelihood, Gotovos et al. MCMC, or auto (default: "
        "the cheapest exact route, MCMC when tumours carry too many events for it)",
    )
    fit.add_argument(
        "--weights",
        metavar="COLUMN",
        default=None,
        help="column of DATA.csv counting the tumours of each row (whole numbers >= 0), for a "
        "deduplicated cohort: it is not an event, the fit weighs each row by it and the "
        "held-out folds split the tumours it counts; needs --l1 (default: every row is one "
        "tumour)",
    )
    fit.add_argument(
        "--model",
        choices=["cmhn", "omhn"],
        default="cmhn",
        help="cmhn: the classical MHN (default); omhn: the observation MHN of Schill et al. "
        "2024 (mhn's default), with a row of the events' effects on the observation rate, "
        "L1-penalised with the interactions, written to theta.csv as the row Observation",
    )
    fit.add_argument("--seed", metavar="S", type=random_seed, default=0,
                     help="seed of folds and MCMC chains (default 0)")
    fit.add_argument("--folds", metavar="K", type=at_least(2, int), default=5,
                     help="cross-validation folds (default 5)")
    fit.add_argument("--one-se", action="store_true",
                     help="without --l1: choose the largest L1 strength within one standard "
                     "error of the best held-out log-likelihood (mhn's rule), not the best")
    fit.add_argument("--restarts", metavar="N", type=at_least(0, int), default=0,
                     help="extra fits from random starts (seeded by --seed), the best "
                     "penalised likelihood kept, for the final fit and every fold's; each "
                     "costs about one more fit; needs an exact method, not MCMC (default 0)")
    fit.add_argument("--max-steps", metavar="N", type=at_least(1, int), default=None,
                     help="step limit of the final fit and the held-out fold fits; a fit "
                     "that reaches it before its stopping rule fires warns, its estimates "
                     "may still move (default: 300 for the exact L-BFGS fit, 500 for Adam or "
                     "Adagrad on exact gradients, 600 where MCMC samples orderings)")
    # the stall warnings of the OWL-QN fit advise Adam: a command-line user had no way to it
    fit.add_argument("--optimizer", choices=["auto", "lbfgs", "adam", "adagrad"],
                     default="auto",
                     help="optimiser of the final fit and the fold fits: lbfgs (OWL-QN, exact "
                     "gradients only), adam or adagrad (Gotovos et al.); auto takes lbfgs "
                     "for exact gradients and adam where MCMC samples orderings (default)")
    fit.add_argument("--out", metavar="DIR", required=True, type=output_folder,
                     help="output folder (created if missing)")
    # a cross-validation over hundreds of events runs for hours: show where it is
    fit.add_argument("--quiet", action="store_true",
                     help="no progress bars (shown on stderr by default)")
    fit.set_defaults(func=_fit)
