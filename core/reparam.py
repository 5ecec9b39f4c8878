"""The ``x = m * w`` reparameterization, PILoT and the Sign-In reset.

Gradient flow on ``f(m * w)`` with the balance ``gamma = m^2 - w^2`` is the mirror
flow of the hyperbolic entropy ``R_gamma(x) = 1/2 [x arcsinh(2x/gamma) -
sqrt(x^2 + gamma^2/4)]`` (Woodworth et al. 2020): ``dx/dt = -sqrt(4x^2 +
gamma^2) grad f(x)``. A large ``gamma`` gives an L2 (dense) bias, a small one an
L1 (sparse) bias; weight decay on ``m`` and ``w`` shrinks ``gamma`` over time and
moves the bias from L2 to L1.

* :func:`hadamard` puts ``weight = m * w`` on modules through
  :mod:`torch.nn.utils.parametrize`, with the balanced initialization of "Mask
  in the Mirror" (Jacobs & Burkholz, ICLR 2025): ``m0 * w0 = x_init`` and
  ``m0^2 - w0^2 = beta`` (so ``gamma = beta > 0`` and signs can flip).
* :class:`PILoT` is that paper's time-dependent regularization controller for
  the penalty ``alpha (||m||^2 + ||w||^2)``.
* :func:`sign_in_reset` is the reset of Sign-In (Gadhikar, Jacobs, Zhou &
  Burkholz, NeurIPS 2025): every p epochs, rebalance so that ``m^2 - w^2 = 1``
  with ``m * w`` unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn
from torch.nn.utils import parametrize

from core.checks import check_count, check_number
from core.masks import _HOOK_ATTR, MaskSet, _unwrap, prunable_names

__all__ = [
    "HadamardProduct",
    "hadamard",
    "remove_hadamard",
    "hadamard_factors",
    "balanced_split",
    "sign_in_reset",
    "hadamard_penalty",
    "hadamard_l1",
    "PILoT",
]


def balanced_split(x: torch.Tensor, gamma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Split ``x`` into ``(m, w)`` with ``m * w = x`` and ``m^2 - w^2 = gamma``.

    ``m = sqrt((gamma + sqrt(gamma^2 + 4 x^2)) / 2) > 0``, ``w = x / m``.

    Parameters
    ----------
    x
        The product to split.
    gamma
        Balance ``m^2 - w^2``, ``> 0``.

    Returns
    -------
    tuple of torch.Tensor
        ``(m, w)``, each of ``x``'s shape and dtype; ``m > 0`` and ``w`` carries the sign.

    Raises
    ------
    TypeError
        If ``x`` is not a floating-point tensor.
    ValueError
        If ``gamma`` is not a finite number > 0, or ``x`` holds NaN or an infinity.

    Examples
    --------
    >>> import torch
    >>> m, w = balanced_split(torch.tensor([-2.0, 0.0, 3.0]), 1.0)
    >>> torch.allclose(m * w, torch.tensor([-2.0, 0.0, 3.0])), torch.allclose(m**2 - w**2,
    ...     torch.ones(3))
    (True, True)
    """
    gamma = check_number("gamma", gamma, above=0)
    # an int tensor failed inside torch ("hypot_cpu" not implemented for 'Long'), an array in
    # full_like, and NaN came back as NaN factors
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        got = f"a {x.dtype} tensor" if isinstance(x, torch.Tensor) else type(x).__name__
        raise TypeError(f"x: expected a floating-point torch tensor, got {got}")
    if torch.isnan(x).any():
        raise ValueError("x: contains NaN; expected finite values to split")
    if torch.isinf(x).any():  # [inf] came back as (inf, inf / inf = nan)
        raise ValueError("x: contains inf; expected finite values to split")
    # hypot, not sqrt(gamma^2 + 4 x^2): 4 x^2 overflows (float32 from |x| ~ 1e19)
    m = torch.sqrt((gamma + torch.hypot(torch.full_like(x, gamma), 2 * x)) / 2)
    return m, x / m


class HadamardProduct(nn.Module):
    """Parametrization ``weight = m * w`` (optionally times a fixed bool mask).

    Registered with ``torch.nn.utils.parametrize``; its ``right_inverse`` splits
    a tensor with :func:`balanced_split` at balance ``beta``. With a ``mask``,
    pruned entries of ``m`` and ``w`` are zeroed and the output is masked (the
    mask is a buffer, so it travels with the module).

    Parameters
    ----------
    beta
        Balance ``m^2 - w^2`` of the split, ``> 0``.
    mask
        Optional fixed mask of the weight's shape (``True`` = kept).
    """

    def __init__(self, beta: float = 1.0, mask: torch.Tensor | None = None) -> None:
        super().__init__()
        self.beta = check_number("beta", beta, above=0)
        if mask is not None:
            self.register_buffer("mask", mask.to(torch.bool))
        else:
            self.mask = None

    def forward(self, m: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """Return ``m * w`` (masked when a mask is set).

        Parameters
        ----------
        m, w
            The two factors.

        Returns
        -------
        torch.Tensor
            The weight.
        """
        x = m * w
        return x if self.mask is None else x * self.mask

    def right_inverse(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Balanced split of ``x`` (``m^2 - w^2 = beta``).

        Parameters
        ----------
        x
            The weight to split.

        Returns
        -------
        tuple of torch.Tensor
            ``(m, w)``, zero at masked entries.
        """
        m, w = balanced_split(x, self.beta)
        if self.mask is not None:
            m, w = m * self.mask, w * self.mask
        return m, w


def hadamard(
    module: nn.Module,
    names: Iterable[str] | None = None,
    beta: float = 1.0,
    masks: MaskSet | None = None,
) -> list[str]:
    """Reparameterize weights as ``m * w`` with the balanced initialization.

    The current value of each weight is kept (``m0 * w0 = x_init``) and
    ``m0^2 - w0^2 = beta``. Afterwards ``module.named_parameters()`` lists
    ``<owner>.parametrizations.<attr>.original0`` (``m``) and ``...original1``
    (``w``); the optimizer must be built after this call. A tied weight (an LM head
    sharing its embedding's) stays tied: every module that holds it reads the same
    ``m * w``, and :func:`remove_hadamard` ties the merged weight again. torch pickles no
    parametrized module (``pickle``, ``torch.save(module)``, a joblib worker's return value:
    "Serialization of parametrized modules is only supported through state_dict()"):
    save or send its ``state_dict()``, or the module after :func:`remove_hadamard`;
    ``copy.deepcopy`` works.

    Parameters
    ----------
    module
        The model (modified in place).
    names
        Parameters to reparameterize (default: :func:`~core.prunable_names`' weights:
        ``ndim >= 2``, normalisation layers left as they are).
    beta
        Initial balance ``gamma_0 = beta > 0`` (1 in "Mask in the Mirror" and Sign-In).
    masks
        Optional fixed masks (sparse training from scratch, Sign-In): pruned
        entries of ``m`` and ``w`` are zero and stay out of the product. Masks attached
        to ``module`` (:meth:`core.MaskSet.attach`) must be detached first.

    Returns
    -------
    list of str
        The reparameterized parameter names (as before the call).

    Raises
    ------
    ValueError
        If ``masks`` is given while masks are attached to parameters to be
        reparameterized, if a mask names a parameter the module lacks or has another
        shape, if ``beta`` is not a finite number > 0, or if a weight is already
        reparameterized.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from core import hadamard, hadamard_factors
    >>> net = nn.Linear(3, 2)
    >>> before = net.weight.detach().clone()
    >>> hadamard(net)
    ['weight']
    >>> m, w = hadamard_factors(net)["weight"]
    >>> torch.allclose(m * w, before) and torch.allclose(m**2 - w**2, torch.ones(2, 3))
    True
    """
    chosen = prunable_names(module, names)
    if masks is not None:
        # an attached MaskSet expects its parameters to stay leaves: the first forward after
        # hadamard(net, masks=ms) failed, telling the user to pass masks=, as they had
        inner, prefix = _unwrap(module)
        hook = getattr(inner, _HOOK_ATTR, None)
        attached = [n for n in chosen if hook is not None and n[len(prefix):] in hook.names]
        if attached:
            raise ValueError(
                f"masks: the module has masks attached to {attached} (MaskSet.attach), which "
                "expect those weights to stay parameters; detach them first with "
                "MaskSet.detach_from(module), then pass them as masks=")
        params = dict(module.named_parameters())
        for n in masks:
            if n not in params:
                raise ValueError(f"masks: the module has no parameter {n!r}")
            if tuple(masks[n].shape) != tuple(params[n].shape):
                raise ValueError(f"masks: mask {n!r} has shape {tuple(masks[n].shape)}, "
                                 f"expected {tuple(params[n].shape)}")
    for n in chosen:
        if "parametrizations" in n.split("."):
            raise ValueError(f"names: {n!r} is a factor of an existing parametrization; "
                             "hadamard() was already applied to this module")
    # a tied weight (an LM head sharing its embedding's) is one parameter under several
    # names; named_parameters() lists only the first, and parametrizing that owner alone
    # left the others a separate dense copy of the weight, trained on its own
    aliases: dict[int, list[str]] = {}
    for n, p in module.named_parameters(remove_duplicate=False):
        aliases.setdefault(id(p), []).append(n)
    params = dict(module.named_parameters())
    for n in chosen:
        owner, attr = _site(module, n)
        mask = None
        if masks is not None and n in masks:
            mask = masks[n].to(getattr(owner, attr).device)
        parametrize.register_parametrization(owner, attr, HadamardProduct(beta, mask),
                                             unsafe=True)
        plist = owner.parametrizations[attr]
        done = {(id(owner), attr)}  # n's own site, and a module used twice (two paths)
        for alias in aliases[id(params[n])]:
            a_owner, a_attr = _site(module, alias)
            if (id(a_owner), a_attr) in done:
                continue
            done.add((id(a_owner), a_attr))
            parametrize.register_parametrization(a_owner, a_attr, plist[0], unsafe=True)
            # one ParametrizationList, so one pair of factors: every alias reads the same m * w
            a_owner.parametrizations[a_attr] = plist
    return chosen


def _site(module: nn.Module, name: str) -> tuple[nn.Module, str]:
    """Return the module that holds parameter ``name`` and its attribute there."""
    path, _, attr = name.rpartition(".")
    return (module.get_submodule(path) if path else module), attr


def _hadamard_sites(module: nn.Module) -> dict[str, list[tuple[nn.Module, str]]]:
    """Weight name -> its ``(owner, attr)`` sites, those of a tied weight's aliases after it.

    Aliases share one ParametrizationList (see :func:`hadamard`): listed under the first
    name only, so their factors are counted, penalised and reset once.
    """
    out: dict[str, list[tuple[nn.Module, str]]] = {}
    first: dict[int, str] = {}
    for mname, mod in module.named_modules():
        if parametrize.is_parametrized(mod):
            for attr, plist in mod.parametrizations.items():
                if any(isinstance(p, HadamardProduct) for p in plist):
                    name = first.setdefault(id(plist), f"{mname}.{attr}" if mname else attr)
                    out.setdefault(name, []).append((mod, attr))
    return out


def hadamard_factors(
    module: nn.Module,
) -> dict[str, tuple[nn.Parameter, nn.Parameter]]:
    """``name -> (m, w)`` for every ``m * w`` parametrized weight of ``module``.

    Parameters
    ----------
    module
        A model reparameterized by :func:`hadamard`.

    Returns
    -------
    dict of str to tuple of nn.Parameter
        Original weight name -> its factors ``(m, w)`` (the parameters themselves).
    """
    out = {}
    for name, [(mod, attr), *_] in _hadamard_sites(module).items():
        plist = mod.parametrizations[attr]
        out[name] = (plist.original0, plist.original1)
    return out


def remove_hadamard(module: nn.Module) -> None:
    """Merge ``m * w`` back into plain weights (for inference or export).

    The merged weights are parameters (trainable when ``m`` or ``w`` was), also when this
    is called under ``torch.no_grad()`` or ``torch.inference_mode()``.

    Parameters
    ----------
    module
        A model reparameterized by :func:`hadamard`; modified in place.

    Returns
    -------
    None
        ``module`` is changed in place: each ``m * w`` becomes one parameter again.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from core import hadamard, remove_hadamard
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Linear(3, 2)
    >>> before = net.weight.detach().clone()
    >>> hadamard(net)
    ['weight']
    >>> remove_hadamard(net)
    >>> sorted(name for name, _ in net.named_parameters())
    ['bias', 'weight']
    >>> torch.allclose(net.weight, before)
    True
    """
    # torch makes the merged weight a parameter only if the product m * w requires grad:
    # under torch.no_grad() or inference mode (as for inference or export) it became a
    # plain tensor, out of parameters() and of any optimizer built afterwards
    with torch.inference_mode(False), torch.enable_grad():
        for (mod, attr), *aliases in _hadamard_sites(module).values():
            parametrize.remove_parametrizations(mod, attr, leave_parametrized=True)
            merged = getattr(mod, attr)
            for a_mod, a_attr in aliases:
                parametrize.remove_parametrizations(a_mod, a_attr, leave_parametrized=True)
                setattr(a_mod, a_attr, merged)  # tied again: one parameter, as before hadamard


@torch.no_grad()
def sign_in_reset(
    module: nn.Module,
    gamma: float = 1.0,
    optimizer: torch.optim.Optimizer | None = None,
) -> None:
    """Sign-In reset: rebalance every ``m * w`` to ``m^2 - w^2 = gamma`` keeping ``m * w``.

    Call it every p epochs of sparse training from scratch (Sign-In, Gadhikar,
    Jacobs, Zhou & Burkholz, NeurIPS 2025). After the reset ``m > 0`` and ``w``
    carries the sign, so near-zero weights can move and flip sign again.

    Parameters
    ----------
    module
        Model reparameterized by :func:`hadamard`.
    gamma
        Target balance (1 in the paper).
    optimizer
        If given, the optimizer state of ``m`` and ``w`` is cleared (the paper
        leaves this open; stale moments refer to the old factorization).

    Returns
    -------
    None
        The factors are changed in place (and their optimizer state cleared when
        ``optimizer`` is given).

    Raises
    ------
    ValueError
        If ``module`` has no ``m * w`` parametrization.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from core import hadamard, hadamard_factors, sign_in_reset
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Linear(3, 2)
    >>> _ = hadamard(net, beta=4.0)                # m^2 - w^2 = 4
    >>> before = net.weight.detach().clone()
    >>> sign_in_reset(net, gamma=1.0)
    >>> m, w = hadamard_factors(net)["weight"]
    >>> torch.allclose(m * w, before), torch.allclose(m**2 - w**2, torch.ones(2, 3))
    (True, True)
    >>> bool((m > 0).all())                        # w carries the sign
    True
    """
    sites = _hadamard_sites(module)
    if not sites:
        raise ValueError("module: no m * w parametrization found; call hadamard() first")
    for [(mod, attr), *_] in sites.values():
        plist = mod.parametrizations[attr]
        m, w = plist.original0, plist.original1
        mask = next((p.mask for p in plist if isinstance(p, HadamardProduct)), None)
        x = m * w
        m_new, w_new = balanced_split(x, gamma)
        if mask is not None:
            m_new, w_new = m_new * mask, w_new * mask
        m.copy_(m_new)
        w.copy_(w_new)
        if optimizer is not None:
            optimizer.state.pop(m, None)
            optimizer.state.pop(w, None)


def hadamard_penalty(module: nn.Module) -> torch.Tensor:
    """``sum ||m||^2 + ||w||^2`` over all ``m * w`` weights (differentiable).

    Parameters
    ----------
    module
        A model reparameterized by :func:`hadamard`.

    Returns
    -------
    torch.Tensor
        0-d tensor on the factors' device, with autograd history.

    Raises
    ------
    ValueError
        If ``module`` has no ``m * w`` parametrization.
    """
    factors = list(hadamard_factors(module).values())
    if not factors:
        raise ValueError("module: no m * w parametrization found; call hadamard() first")
    return sum((m.pow(2).sum() + w.pow(2).sum() for m, w in factors),
               torch.zeros((), dtype=factors[0][0].dtype, device=factors[0][0].device))


@torch.no_grad()
def hadamard_l1(module: nn.Module) -> float:
    """``||m * w||_1`` summed over all reparameterized weights.

    Parameters
    ----------
    module
        A model reparameterized by :func:`hadamard`.

    Returns
    -------
    float
        The L1 norm (0.0 without any ``m * w`` weight).
    """
    return float(sum(float((m * w).abs().sum()) for m, w in hadamard_factors(module).values()))


class PILoT:
    """Time-dependent regularization controller of "Mask in the Mirror" (PILoT).

    The loss is ``f(m * w) + alpha_k (||m||^2 + ||w||^2)``. After epoch ``k``::

        if acc_k >= acc_{k-1} and ||m * w||_1 >= budget and k <= T / 2:
            alpha_k = alpha_{k-1} * delta     # keep pushing towards sparsity
        else:
            alpha_k = alpha_{k-1} / delta     # relax; after T/2 alpha decays geometrically

    (Jacobs & Burkholz, "Mask in the Mirror: Implicit Sparsification", ICLR 2025,
    Algorithm 1.) The comparison operators are lost in the public extraction of
    the algorithm; the rule above follows the text (alpha rises while the L1 norm
    is above the budget ``K`` and accuracy does not drop) and should be checked
    against the paper before relying on fine details.

    Parameters
    ----------
    alpha
        Initial regularization strength ``alpha_0 >= 0``.
    delta
        Multiplicative factor ``> 1``.
    budget
        L1 budget ``K`` on ``||m * w||_1``.
    total_epochs
        ``T``; increases are allowed for ``k <= T / 2`` only.

    Examples
    --------
    >>> ctl = PILoT(alpha=1e-4, delta=1.5, budget=10.0, total_epochs=10)
    >>> round(ctl.update(accuracy=0.8, l1_norm=50.0), 8)  # above budget, acc up: * delta
    0.00015
    >>> round(ctl.update(accuracy=0.7, l1_norm=50.0), 8)  # accuracy dropped: alpha / delta
    0.0001
    """

    def __init__(self, alpha: float, delta: float, budget: float, total_epochs: int) -> None:
        check_number("alpha", alpha, at_least=0)
        check_number("delta", delta, above=1)
        check_number("budget", budget, at_least=0)
        # check_count, not int(): total_epochs=7.5 was silently 7 (and T / 2 with it)
        total_epochs = check_count("total_epochs", total_epochs, at_least=1)
        self.alpha = float(alpha)
        self.delta = float(delta)
        self.budget = float(budget)
        self.total_epochs = int(total_epochs)
        self.epoch = 0
        self.previous_accuracy = -float("inf")
        self.history: list[float] = [self.alpha]

    def penalty(self, module: nn.Module) -> torch.Tensor:
        """Return ``alpha * (||m||^2 + ||w||^2)``, to be added to the loss.

        Parameters
        ----------
        module
            A model reparameterized by :func:`hadamard`.

        Returns
        -------
        torch.Tensor
            0-d tensor with autograd history.
        """
        return self.alpha * hadamard_penalty(module)

    def update(self, accuracy: float, l1_norm: float) -> float:
        """Close an epoch: update and return ``alpha`` from its accuracy and L1 norm.

        Parameters
        ----------
        accuracy
            The epoch's training accuracy (compared with the previous epoch's).
        l1_norm
            ``||m * w||_1`` at the end of the epoch (e.g. :func:`hadamard_l1`).

        Returns
        -------
        float
            The new ``alpha``.
        """
        self.epoch += 1
        grow = (accuracy >= self.previous_accuracy and l1_norm >= self.budget
                and self.epoch <= self.total_epochs / 2)
        self.alpha = self.alpha * self.delta if grow else self.alpha / self.delta
        # a Python float: a numpy accuracy (np.mean, sklearn) in the state made a checkpoint
        # that torch.load, weights_only by default, refused to read
        self.previous_accuracy = float(accuracy)
        self.history.append(self.alpha)
        return self.alpha

    def state_dict(self) -> dict[str, Any]:
        """Return the controller state.

        Returns
        -------
        dict
            ``alpha``, ``epoch``, previous accuracy and the ``alpha`` history.
        """
        return {"alpha": self.alpha, "epoch": self.epoch, "prev": self.previous_accuracy,
                "history": list(self.history)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the controller state.

        Parameters
        ----------
        state
            A dict from :meth:`state_dict`.
        """
        self.alpha, self.epoch = state["alpha"], state["epoch"]
        self.previous_accuracy, self.history = state["prev"], list(state["history"])
