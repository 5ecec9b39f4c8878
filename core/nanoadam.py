"""NanoAdam: Adam on the k smallest-magnitude weights of each layer.

Zhou, Jacobs, Gadhikar & Burkholz, "Pay Attention to Small Weights", NeurIPS
2025 (arXiv 2506.21374). In fine-tuning, large gradients concentrate on
small-magnitude weights; updating only those is cheaper and forgets less.

Algorithm 1 of the paper: every ``density_interval`` steps the density
``k <- density_schedule(step)`` is refreshed and a reselection is forced; every
``mask_interval`` steps (or when forced) the index set ``I`` of the ``k``
smallest ``|theta|`` of each tensor is recomputed (no gradient needed); Adam
updates ``theta[I]`` only, and its moments are stored for ``|I|`` entries (memory
``2 k N`` instead of ``2 N``).

Entries that are exactly zero with an exactly zero gradient are not selected:
these are the weights a ``core`` mask prunes (its gradient hook zeroes their
gradients), which would otherwise, being the smallest, take the whole budget and
leave the live weights untrained. ``k`` is capped at the live entries.

When ``I`` changes, ``on_reselect`` decides the moments (the paper leaves this
open): ``"regather"`` (default) keeps the moments of indices that stay selected,
with their own step counts for the bias correction, and starts new ones at zero
(and step 0, as a fresh Adam); ``"reset"`` restarts all moments and counts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, Literal

import torch

from core.checks import (
    _check_betas,
    _refuse_complex,
    _refuse_sparse_grads,
    check_count,
    check_number,
)
from core.select import _check_density, topk_mask_flat

__all__ = ["NanoAdam"]


def _bias_correction(steps: torch.Tensor, beta: float) -> torch.Tensor:
    """``1 - beta ** steps`` without cancellation; 1 for ``beta = 0`` (no averaging)."""
    if beta == 0.0:
        return torch.ones_like(steps)
    return -torch.expm1(steps * math.log(beta))


#: NanoAdam's own attributes, kept by pickling and ``copy.deepcopy``
_SETTINGS = ("mask_interval", "density_schedule", "density_interval", "largest",
             "on_reselect", "global_step")


class NanoAdam(torch.optim.Optimizer):
    """Adam restricted to the ``k`` smallest-magnitude weights of each tensor.

    Parameters
    ----------
    params
        Real floating-point parameters or groups (complex ones are refused: their squared
        gradient would be a complex square, not ``|g|^2``). A group may set its own
        ``density`` (1.0: Adam on every entry, except that one exactly zero with a zero
        gradient at a selection, as a pruned one is, stays frozen until the next
        selection); ``density_schedule`` then leaves that group alone.
    lr, betas, eps, weight_decay
        Adam hyperparameters; ``weight_decay`` is decoupled (AdamW-style) and
        applied to the selected entries only.
    density
        Fraction ``k`` of each tensor's entries that is updated, in (0, 1].
    mask_interval
        Reselect the subset every this many steps (``m`` in the paper); a tensor whose
        ``k`` changes because its group's ``density`` was set is reselected at the next
        step.
    density_schedule
        Optional ``step -> density`` (dynamic density) for the groups without their
        own density; evaluated every ``density_interval`` steps, each time with a
        forced reselection (Algorithm 1).
    density_interval
        ``d`` in the paper.
    largest
        Select the largest instead of the smallest weights (the paper's ablation).
    on_reselect
        ``"regather"`` or ``"reset"``: what happens to the moments when the
        subset changes (see the module docstring).

    Examples
    --------
    >>> import torch
    >>> from core import NanoAdam
    >>> w = torch.nn.Parameter(torch.randn(10, 10))
    >>> opt = NanoAdam([w], lr=1e-2, density=0.1)
    >>> before = w.detach().clone()
    >>> (w ** 2).sum().backward()
    >>> opt.step()
    >>> int((w != before).sum())
    10
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        density: float = 0.01,
        mask_interval: int = 100,
        density_schedule: Callable[[int], float] | None = None,
        density_interval: int = 100,
        largest: bool = False,
        on_reselect: Literal["regather", "reset"] = "regather",
    ) -> None:
        # check_number, not `lr <= 0`: a NaN lr (or eps, weight_decay) slipped through and
        # turned every selected weight into NaN without a word
        check_number("lr", lr, above=0)
        # the float it holds: np.array(1e-8) failed in the step's add_ ("must be Tensor")
        eps = check_number("eps", eps, at_least=0)
        check_number("weight_decay", weight_decay, at_least=0)
        # HORST's check: betas=(np.array(0.9), 0.99) passed a check of its own and failed in
        # the step; a list stays a list, as torch's Adam keeps it
        checked = _check_betas(betas)
        betas = list(checked) if isinstance(betas, list) else checked
        density = _check_density(density)
        # check_count, not int(): mask_interval=2.5 was silently 2
        mask_interval = check_count("mask_interval", mask_interval, at_least=1)
        density_interval = check_count("density_interval", density_interval, at_least=1)
        if on_reselect not in ("regather", "reset"):
            raise ValueError(f"on_reselect: expected 'regather' or 'reset', got {on_reselect!r}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, density=density)
        super().__init__(params, defaults)
        self.mask_interval = int(mask_interval)
        self.density_schedule = density_schedule
        self.density_interval = int(density_interval)
        self.largest = bool(largest)
        self.on_reselect = on_reselect
        self.global_step = 0

    def __getstate__(self) -> dict[str, Any]:
        # torch.optim.Optimizer pickles only defaults, state and groups: a deepcopy (or a
        # torch.save of the optimizer) lacked the settings and step count, and its first
        # step raised AttributeError 'global_step'
        state = super().__getstate__()
        state.update({key: self.__dict__[key] for key in _SETTINGS if key in self.__dict__})
        return state

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group; one that sets its own ``density`` is left out of the schedule.

        Parameters
        ----------
        param_group
            The group (``params`` and options, e.g. ``density``).

        Raises
        ------
        TypeError
            If the group holds a complex parameter (the group is not added then).
        """
        # g * g is a complex square, not |g|^2: at density 1 the steps left AdamW's
        _refuse_complex("NanoAdam", [param_group], instead=", or use torch.optim.AdamW",
                        reason="its squared gradient would be a complex square, not |g|^2")
        param_group.setdefault("density_scheduled", "density" not in param_group)
        super().add_param_group(param_group)

    @torch.no_grad()
    def select(self, force: bool = True) -> None:
        """Recompute the selected index set of every tensor (no gradient needed).

        Entries that are exactly zero and have an exactly zero gradient (pruned by a
        mask) are never selected.

        Parameters
        ----------
        force
            Reselect every tensor; ``False`` reselects only the tensors whose ``k``
            differs from the size of their current selection.

        Raises
        ------
        TypeError
            If a parameter has a sparse gradient.
        """
        _refuse_sparse_grads("NanoAdam", self.param_groups, instead="torch.optim.SparseAdam")
        for group in self.param_groups:
            density = _check_density(group["density"], "density")
            group["selected_density"] = density  # step() reselects when the density moves
            for p in group["params"]:
                st = self.state[p]
                flat = p.detach().reshape(-1)
                dead = flat == 0
                if p.grad is not None:
                    dead &= p.grad.reshape(-1) == 0
                else:
                    dead.zero_()  # without a gradient a zero may be a live weight
                live = p.numel() - int(dead.sum())
                k = min(max(1, int(round(density * p.numel()))), live)
                if not force and "index" in st and st["index"].numel() == k:
                    continue
                scores = flat.abs() if self.largest else -flat.abs()
                scores = scores.masked_fill(dead, -math.inf)
                keep = topk_mask_flat(scores, k, alive=~dead)
                index = torch.nonzero(keep).flatten()
                old = st.get("index")
                if old is not None and torch.equal(old, index):
                    continue  # the same entries: the moments stay valid
                zeros = torch.zeros(k, dtype=p.dtype, device=p.device)
                if old is None or self.on_reselect == "reset":
                    st["exp_avg"], st["exp_avg_sq"] = zeros, zeros.clone()
                    st["entry_step"] = torch.zeros(k, dtype=torch.long, device=p.device)
                else:  # kept entries keep their moments and their age, new ones start afresh
                    _steps(st)
                    for key in ("exp_avg", "exp_avg_sq", "entry_step"):
                        dense = torch.zeros(p.numel(), dtype=st[key].dtype, device=p.device)
                        dense[old] = st[key]
                        st[key] = dense[index]
                st["index"] = index

    def state_dict(self) -> dict[str, Any]:
        """Return the optimizer state, including the selected indices and the step count.

        Returns
        -------
        dict
            torch's optimizer state dict plus ``"nano_global_step"``.
        """
        out = super().state_dict()
        out["nano_global_step"] = self.global_step
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state saved by :meth:`state_dict` (indices and step counts stay integer).

        Parameters
        ----------
        state_dict
            A state dict from :meth:`state_dict`.
        """
        step = state_dict.get("nano_global_step", 0)
        # torch casts every state tensor of a floating parameter to its dtype: the indices
        # and per-entry step counts must stay int64 (a bfloat16 count stops at 256)
        ints = {pid: {k: st[k].clone() for k in ("index", "entry_step") if k in st}
                for pid, st in state_dict["state"].items()}
        state_dict = {k: v for k, v in state_dict.items() if k != "nano_global_step"}
        super().load_state_dict(state_dict)
        self.global_step = int(step)
        ids = [i for g in state_dict["param_groups"] for i in g["params"]]
        params = [p for g in self.param_groups for p in g["params"]]
        for pid, p in zip(ids, params):
            for k, v in ints.get(pid, {}).items():
                self.state[p][k] = v.to(device=p.device, dtype=torch.long)

    def selected(self, param: torch.Tensor) -> torch.Tensor:
        """Flat indices of ``param`` currently updated.

        Parameters
        ----------
        param
            A parameter of this optimizer (after its first step).

        Returns
        -------
        torch.Tensor
            int64 indices into ``param.reshape(-1)``, in increasing order.
        """
        return self.state[param]["index"]

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One NanoAdam step on the selected entries.

        Parameters
        ----------
        closure
            Optional callable that re-evaluates the model and returns the loss.

        Returns
        -------
        float or None
            The closure's loss, or ``None`` without a closure.

        Raises
        ------
        TypeError
            If a parameter has a sparse gradient (``nn.Embedding(..., sparse=True)``);
            no parameter is changed then.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        # before any tensor moves: a sparse gradient further down left the step half taken
        _refuse_sparse_grads("NanoAdam", self.param_groups, instead="torch.optim.SparseAdam")
        t = self.global_step
        force = False
        if self.density_schedule is not None and t % self.density_interval == 0:
            new = _check_density(float(self.density_schedule(t)), "density_schedule")
            for group in self.param_groups:
                if group.get("density_scheduled", True):
                    group["density"] = new
            force = True  # Algorithm 1 reselects every density_interval steps
        need = any("index" not in self.state[p] for g in self.param_groups for p in g["params"])
        if force or need or t % self.mask_interval == 0:
            self.select(force=True)
        elif any(g.get("selected_density", g["density"]) != g["density"]
                 for g in self.param_groups):
            # a group's density was set between steps: k changed, so the tensors whose k
            # changed are reselected now, not at the next mask_interval (Algorithm 1)
            self.select(force=False)
        for group in self.param_groups:
            b1, b2 = group["betas"]
            lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                idx = st["index"]
                flat = p.view(-1) if p.is_contiguous() else None
                values = (flat if flat is not None else p.reshape(-1))[idx]
                g = p.grad.reshape(-1)[idx]
                steps = _steps(st)
                steps += 1
                # each entry's own age for the bias correction, in at least float32 (torch's
                # Adam's opmath) and as -expm1(s log b): in bfloat16 1 - 0.999 ** 1 was 0 (a
                # first update of 0 / inf = 0), in float32 it lost 5 digits to cancellation
                opmath = torch.promote_types(p.dtype, torch.float32)
                s = steps.to(opmath)
                bc1, bc2 = _bias_correction(s, b1), _bias_correction(s, b2)
                st["exp_avg"].mul_(b1).add_(g, alpha=1 - b1)
                st["exp_avg_sq"].mul_(b2).addcmul_(g, g, value=1 - b2)
                denom = (st["exp_avg_sq"].to(opmath) / bc2).sqrt_().add_(eps)
                update = (st["exp_avg"].to(opmath) / bc1) / denom
                if wd:
                    values.mul_(1 - lr * wd)
                values.add_(update, alpha=-lr)
                if flat is not None:
                    flat[idx] = values
                else:
                    tmp = p.reshape(-1).clone()
                    tmp[idx] = values
                    p.copy_(tmp.view_as(p))
        self.global_step += 1
        return loss


def _steps(st: dict[str, Any]) -> torch.Tensor:
    """Per-entry Adam step counts (a state saved with one shared ``step`` is expanded)."""
    if "entry_step" not in st:
        st["entry_step"] = torch.full_like(st["index"], int(st.pop("step", 0)))
    return st["entry_step"]
