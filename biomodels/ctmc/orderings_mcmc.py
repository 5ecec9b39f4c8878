"""Gradient of log p(x) as an expectation over orderings, by Metropolis-Hastings (Gotovos 2021).

For a tumour with many events the subset lattice (2^k states) is out of reach, but

    grad log p(x) = E_{sigma ~ p(sigma | x)} [grad log p(sigma)]        (Gotovos et al., eq. 7)

can be estimated by a Markov chain over the orderings sigma of x. Following the paper we use an
independence Metropolis-Hastings chain whose proposal q builds sigma item by item (Appendix E).
Placing item i next contributes exactly ``sum_{l unplaced} theta[l, i]`` (i acts on every item
placed after it) to log p(sigma)'s numerators, and the normaliser ``log D(S + {i})`` (D = 1 + total
exit rate) to its denominators; the score is their difference, tempered by 0.5 (a fully greedy
score gives heavy-tailed importance weights; this choice, measured on random and block-structured
theta, beat both the greedy score and uniform shuffles). To keep the proposal at O(k^2) per
step, ``D(S + {i})`` counts the events outside the tumour at their base rates (exact when the
tumour's events do not act on them), and the proposal runs in float32 (float64 where an
entry of theta would overflow float32's rates); both are harmless
because the Metropolis-Hastings correction uses the exact p(sigma) and the proposal's
own q. Acceptance is min(1, p(s') q(s) / (p(s) q(s'))).
Defaults as in the paper: 5 burn-in steps, then 50 states averaged.

Because the proposal does not depend on the chain's state, all proposals of all tumours are
drawn and scored at once; only the accept/reject pass is sequential. The same proposals give an
importance-sampling estimate of log p(x) (``log mean p(sigma)/q(sigma)``), used to report held-out
likelihoods of tumours too large for the exact lattice.

Convention: ``theta[i, j]`` = effect of event j on the rate of event i (rows are targets);
Gotovos et al.'s code stores the transpose.
"""

from __future__ import annotations

import math

import torch

from biomodels.ctmc._checks import as_event_indices, as_theta, check_generator
from biomodels.ctmc.sequences import _sequence_log_prob
from core.checks import check_count, check_number

__all__ = [
    "propose_orders",
    "metropolis_weights",
    "mcmc_surrogate",
    "mcmc_gradient",
    "importance_log_likelihood",
]


def propose_orders(
    theta: torch.Tensor,
    events: torch.Tensor,
    n_proposals: int,
    *,
    tempering: float = 0.5,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw orderings of each tumour's events from the sequential proposal.

    Parameters
    ----------
    theta
        (n, n) parameters (rows = targets); not differentiated.
    events
        (B, k) integer event indices of B tumours with k distinct events each, in [0, n).
    n_proposals
        Orderings per tumour (>= 1).
    tempering
        Finite, >= 0: scores are multiplied by this before the softmax (1 = greedy, 0 =
        uniform shuffles, above 1 greedier still); 0.5 keeps importance weights light-tailed
        on random and block-structured theta.
    generator
        Torch generator for reproducibility; None draws from torch's global generator.

    Returns
    -------
    orders, log_q
        (B, M, k) orderings (event indices) and (B, M) their proposal log-probabilities.
    """
    generator = check_generator(generator)
    theta = as_theta(theta).detach()
    events = as_event_indices(events, theta.shape[0], ndim=2, device=theta.device)
    n_proposals = check_count("n_proposals", n_proposals, at_least=1)
    # a NaN or infinite score would pick already placed events
    tempering = check_number("tempering", tempering, at_least=0)
    out_dtype = theta.dtype
    # a proposal only has to be self-consistent: float32, unless its rates would overflow
    # there (an effect above ~88 made expm1 infinite and every log q NaN)
    big = float(theta.abs().amax()) if theta.numel() else 0.0

    def bound(dtype: torch.dtype) -> float:  # the largest |theta| whose rates fit in dtype
        return math.log(torch.finfo(dtype).max) - math.log(theta.shape[0] + 1) - 1.0

    fits32 = big < bound(torch.float32)
    theta = theta.to(torch.float32 if fits32 else torch.float64)
    if not fits32:
        # beyond float64's rates as well (|theta| > ~700: expm1 gave inf, 0 * inf NaN log q
        # and orders that repeated events): the proposal only has to be self-consistent, so
        # it uses theta clipped to the range (p(sigma) is still scored with the exact theta)
        theta = theta.clamp(-bound(torch.float64), bound(torch.float64))
    bsz, k = events.shape
    m = n_proposals
    dev, dt = theta.device, theta.dtype
    base = torch.diagonal(theta)
    off_all = theta - torch.diag(base)
    off = off_all[events[:, :, None], events[:, None, :]]  # (B, k, k): theta[x_j, x_i]
    gain = torch.expm1(off)  # (B, k, k): relative change of lambda_{x_j} once x_i is present
    # events outside the tumour keep their base rates in the proposal's normaliser
    outside = torch.exp(base).sum() - torch.exp(base[events]).sum(-1)  # (B,)
    a = base[events][:, None, :].expand(bsz, m, k).clone()  # log lambda of the tumour's events
    unplaced = torch.ones(bsz, m, k, dtype=torch.bool, device=dev)
    log_q = torch.zeros(bsz, m, dtype=dt, device=dev)
    picks = torch.empty(bsz, m, k, dtype=torch.int64, device=dev)
    for t in range(k):
        uf = unplaced.to(dt)
        promo = torch.einsum("bml,bli->bmi", uf, off)
        live = a.masked_fill(~unplaced, float("-inf"))
        shift = live.amax(-1, keepdim=True).clamp_min(0.0)
        lam_x = torch.exp(live - shift)  # lambda_j(S) e^-shift for unplaced x_j, else 0
        exit_now = lam_x.sum(-1, keepdim=True) + (1.0 + outside[:, None, None]) * torch.exp(-shift)
        # D(S + {i}) (scaled): i changes the rates of the tumour's other unplaced events
        after = exit_now - lam_x + torch.einsum("bmj,bji->bmi", lam_x, gain)
        # the observation clock (rate 1) bounds the exit rate below: log_exit >= 0. Floored
        # as max(after, e^-shift), the floor underflowed to 0 once the rates passed e^88
        # (float32) or e^745, a cancelled `after` gave log 0, NaN scores and orders that
        # repeated events (8 events promoting each other by 15)
        log_exit = (torch.log(after.clamp_min(torch.finfo(dt).tiny)) + shift).clamp_min(0.0)
        score = (tempering * (promo - log_exit)).masked_fill(~unplaced, float("-inf"))
        logp = torch.log_softmax(score, dim=-1)
        unif = torch.rand(bsz, m, k, generator=generator, dtype=dt, device=dev)
        gumbel = -torch.log(-torch.log(unif.clamp_min(1e-30)))
        choice = torch.argmax(logp + gumbel, dim=-1)  # (B, M)
        log_q = log_q + torch.gather(logp, -1, choice[..., None]).squeeze(-1)
        picks[..., t] = choice
        unplaced = unplaced.scatter(-1, choice[..., None], False)
        a = a + torch.gather(off, 2, choice[:, None, :].expand(bsz, k, m)).transpose(1, 2)
    log_q = log_q.to(out_dtype)
    orders = torch.gather(events[:, None, :].expand(bsz, m, k), -1, picks)
    return orders, log_q


def metropolis_weights(
    log_p: torch.Tensor,
    log_q: torch.Tensor,
    *,
    n_samples: int = 50,
    burn_in: int = 5,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Run independence Metropolis-Hastings over pre-drawn proposals.

    Parameters
    ----------
    log_p, log_q
        (B, 1 + burn_in + n_samples) target and proposal log-probabilities; proposal 0 is the
        chain's starting state.
    n_samples, burn_in
        Chain length after burn-in (>= 1), and burn-in steps (>= 0).
    generator
        Torch generator for the uniforms; None draws from torch's global generator. The
        uniforms are float64 and the acceptance test is taken in float64 whatever the dtype of
        ``log_p``, so float32 and float64 inputs of the same values run the same chain.

    Returns
    -------
    torch.Tensor
        (B, M) weights summing to 1 per row, in ``log_p``'s dtype: the fraction of post-burn-in
        steps the chain spent in each proposal.
    """
    generator = check_generator(generator)
    n_samples = check_count("n_samples", n_samples, at_least=1)
    burn_in = check_count("burn_in", burn_in, at_least=0)
    if log_p.ndim != 2 or log_q.shape != log_p.shape:
        raise ValueError(
            "log_p and log_q must both have shape (B, 1 + burn_in + n_samples), got "
            f"{tuple(log_p.shape)} and {tuple(log_q.shape)}"
        )
    bsz, m = log_p.shape
    if m != 1 + burn_in + n_samples:
        raise ValueError(f"expected {1 + burn_in + n_samples} proposals per tumour, got {m}")
    # uniforms and ratios in float64 whatever log_p's dtype: torch.rand draws other numbers
    # for float32 from the same generator, so a float32 theta ran another chain
    ratio = log_p.detach().to(torch.float64) - log_q.detach().to(torch.float64)
    unif = torch.rand(bsz, m, generator=generator, dtype=torch.float64, device=log_p.device)
    cur = torch.zeros(bsz, dtype=torch.int64, device=log_p.device)
    weights = torch.zeros(bsz, m, dtype=log_p.dtype, device=log_p.device)
    rows = torch.arange(bsz, device=log_p.device)
    for t in range(1, m):
        accept = torch.log(unif[:, t]) < ratio[:, t] - ratio[rows, cur]
        cur = torch.where(accept, torch.full_like(cur, t), cur)
        if t > burn_in:
            weights[rows, cur] += 1.0
    return weights / n_samples


def mcmc_surrogate(
    theta: torch.Tensor,
    events: torch.Tensor,
    *,
    n_samples: int = 50,
    burn_in: int = 5,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return a per-tumour surrogate whose gradient is the MCMC estimate of grad log p(x).

    Parameters
    ----------
    theta
        (n, n) parameters with ``requires_grad`` (rows = targets).
    events
        (B, k) integer event indices of B tumours with k distinct events each, in [0, n).
    n_samples, burn_in
        Chain settings (paper defaults 50 and 5; n_samples >= 1, burn_in >= 0).
    generator
        Torch generator (reproducible chains); None draws from torch's global generator.

    Returns
    -------
    surrogate, log_lik_is
        (B,) ``sum_t w_t log p(sigma_t)`` (differentiable; its value is not log p(x)) and (B,) the
        detached importance-sampling estimate of log p(x) from the same proposals.
    """
    theta = as_theta(theta)
    events = as_event_indices(events, theta.shape[0], ndim=2, device=theta.device)
    n_samples = check_count("n_samples", n_samples, at_least=1)
    burn_in = check_count("burn_in", burn_in, at_least=0)
    m = 1 + burn_in + n_samples
    orders, log_q = propose_orders(theta, events, m, generator=generator)
    log_p = _sequence_log_prob(theta, orders)  # (B, M), differentiable
    weights = metropolis_weights(
        log_p.detach(), log_q, n_samples=n_samples, burn_in=burn_in, generator=generator
    )
    surrogate = (weights * log_p).sum(-1)
    log_is = torch.logsumexp(log_p.detach() - log_q, dim=-1) - math.log(m)
    return surrogate, log_is


def importance_log_likelihood(
    theta: torch.Tensor,
    events: torch.Tensor,
    *,
    n_proposals: int = 1000,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Importance-sampling estimate of log p(x) with the sequential proposal (no gradient).

    Parameters
    ----------
    theta
        (n, n) parameters (rows = targets).
    events
        (B, k) integer event indices of B tumours with k distinct events each, in [0, n).
    n_proposals
        Orderings drawn per tumour (>= 1).
    generator
        Torch generator; None draws from torch's global generator.

    Returns
    -------
    torch.Tensor
        (B,) estimates; consistent as ``n_proposals`` grows, and low for finite samples
        (log of an average): slightly for moderate ``theta``, far for extreme ``theta``,
        where the proposal becomes nearly deterministic and misses the orderings that carry
        the probability (6 of 10 events at ``theta`` scale 30: -182 against the exact -165;
        at 300: -2482 against -1461).
    """
    theta = as_theta(theta)
    events = as_event_indices(events, theta.shape[0], ndim=2, device=theta.device)
    n_proposals = check_count("n_proposals", n_proposals, at_least=1)
    with torch.no_grad():
        orders, log_q = propose_orders(theta, events, n_proposals, generator=generator)
        log_p = _sequence_log_prob(theta.detach(), orders)
        return torch.logsumexp(log_p - log_q, dim=-1) - math.log(n_proposals)


def _ordering_terms(theta: torch.Tensor, orders: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Compute log p(sigma) and the exit softmax pi for (..., M, k) orderings, without autograd.

    Returns log_p (..., M) and pi (..., M, k + 1, n + 1): pi[m, j] = lambda_j(S_m) / D(S_m) for
    events j not yet present (0 for present ones); column n is the observation clock.
    """
    n = theta.shape[0]
    k = orders.shape[-1]
    batch = orders.shape[:-1]
    base = torch.diagonal(theta)
    off = theta - torch.diag(base)
    log_rates = torch.zeros(*batch, k + 1, n + 1, dtype=theta.dtype, device=theta.device)
    torch.cumsum(off.T[orders], dim=-2, out=log_rates[..., 1:, :n])
    log_rates[..., :n] += base
    # mask events already present: row m masks sigma_0 .. sigma_{m-1}; others go to column n
    steps = torch.arange(k + 1, device=theta.device)[:, None]
    cols = torch.arange(k, device=theta.device)[None, :]
    idx = torch.where(cols < steps, orders[..., None, :], torch.full_like(orders[..., None, :], n))
    log_rates.scatter_(-1, idx, float("-inf"))
    log_rates[..., n] = 0.0  # the observation clock, rate 1
    chosen = torch.gather(log_rates[..., :k, :], -1, orders[..., None]).squeeze(-1)
    log_norm = torch.logsumexp(log_rates, dim=-1)
    log_p = chosen.sum(-1) - log_norm.sum(-1)
    pi = log_rates.sub_(log_norm[..., None]).exp_()
    return log_p, pi


def mcmc_gradient(
    theta: torch.Tensor,
    events: torch.Tensor,
    *,
    n_samples: int = 50,
    burn_in: int = 5,
    generator: torch.Generator | None = None,
    compute_dtype: torch.dtype = torch.float32,
    weight: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """MCMC estimate of sum_b grad log p(x_b), computed in closed form (no autograd graph).

    Same chain as :func:`mcmc_surrogate` (identical draws for the same generator state), but
    the gradient of each ordering's log-probability is assembled analytically::

        d log p(sigma) / d theta[j, l] = sum_m ([sigma_m = j] - pi_m[j]) [l in S_m or l = j]

    with ``pi_m`` the exit softmax after m events, which avoids storing the graph of the
    (B, M, k + 1, n) prefix tensor.

    Parameters
    ----------
    theta
        (n, n) parameters (rows = targets); not modified.
    events
        (B, k) integer event indices of B tumours with k distinct events each, in [0, n).
    n_samples, burn_in
        Chain settings (paper defaults 50 and 5; n_samples >= 1, burn_in >= 0).
    generator
        Torch generator; None draws from torch's global generator.
    compute_dtype
        Precision of the (B, M, k + 1, n) ordering terms; float32 halves the memory traffic and
        its rounding (~1e-7 relative) is far below the Monte Carlo error.
    weight
        Optional (B,) non-negative weights: the estimate of ``sum_b weight_b grad log p(x_b)``
        (the chains and the importance-sampling estimates are unchanged).

    Returns
    -------
    grad, log_lik_is
        (n, n) summed (or weighted) gradient estimate over the B tumours and (B,)
        importance-sampling estimates of log p(x).
    """
    th = as_theta(theta).detach()
    n = th.shape[0]
    events = as_event_indices(events, n, ndim=2, device=th.device)
    n_samples = check_count("n_samples", n_samples, at_least=1)
    burn_in = check_count("burn_in", burn_in, at_least=0)
    bsz, k = events.shape
    if weight is not None:
        weight = torch.as_tensor(weight, dtype=th.dtype, device=th.device)
        if weight.shape != (bsz,):
            raise ValueError(f"weight must have shape ({bsz},) (one per tumour), got "
                             f"{tuple(weight.shape)}")
    m = 1 + burn_in + n_samples
    orders, log_q = propose_orders(th, events, m, generator=generator)
    log_p, pi = _ordering_terms(th.to(compute_dtype), orders)
    log_p, log_q = log_p.to(th.dtype), log_q.to(th.dtype)
    weights = metropolis_weights(
        log_p, log_q, n_samples=n_samples, burn_in=burn_in, generator=generator
    )
    log_is = torch.logsumexp(log_p - log_q, dim=-1) - math.log(m)
    # A[b, t, m, j] = w_bt ([sigma_m = j] - pi_m[j]) over the n events (drop the clock column)
    wc = weights.to(pi.dtype)
    if weight is not None:  # the gradient is linear in each tumour's chain weights
        wc = wc * weight.to(pi.dtype)[:, None]
    coef = pi[..., :n].mul_(-wc[..., None, None])
    coef[..., :k, :].scatter_add_(-1, orders[..., None], wc[..., None, None].expand(bsz, m, k, 1))
    # d/d theta[j, x_l] sums coef over the steps m after x_l occurred (m > position of x_l):
    # a suffix sum over m, read at position + 1
    if k:
        position = (orders[..., :, None] == events[:, None, None, :]).to(torch.uint8).argmax(-2)
    else:  # tumours without events: argmax over an empty axis raises; no columns to fill
        position = torch.zeros(bsz, m, 0, dtype=torch.int64, device=th.device)
    suffix = coef.flip(-2).cumsum(-2).flip(-2)  # suffix[m] = sum_{m' >= m} coef[m']
    picked = torch.gather(suffix, -2, (position + 1)[..., None].expand(bsz, m, k, n))
    grad_cols = picked.sum(1).transpose(1, 2).to(th.dtype)  # (B, n, k)
    grad = torch.zeros(n, n, dtype=th.dtype, device=th.device)
    rows = torch.arange(n, device=th.device)[:, None].expand(n, bsz * k)
    cols = events.reshape(1, -1).expand(n, bsz * k)
    grad.index_put_((rows, cols), grad_cols.permute(1, 0, 2).reshape(n, bsz * k), accumulate=True)
    grad.fill_diagonal_(0.0)
    grad += torch.diag(coef.sum(dim=(0, 1, 2)).to(th.dtype))
    return grad, log_is
