"""Agents that debate: a protocol for LLM (or any) agents and a scripted FJ-following agent.

An agent sees the messages of the peers it listens to and returns a belief vector over
the options plus a text.  :class:`ScriptedFJAgent` follows the three-force FJ update
exactly (so a debate of scripted agents is a rollout of
:class:`~multiagent.dynamics.FriedkinJohnsen`); real LLM back ends implement the same
:class:`Agent` protocol and are optional - nothing here calls a model.

Text format (as in MAS-Cascade): a JSON object of option -> probability inside
``<BELIEF>...</BELIEF>``; :func:`parse_belief` also reads the tag-colon lines that
MAS-Cascade's prompts ask for (``<UPDATED_BELIEF>: {...}``, ``<UPDATED_ANSWER>: C``) and
falls back to one-hot on the answer and then to uniform, as the reference code does.
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from core.checks import check_count, check_number
from multiagent._backend import as_dense_numpy, as_numpy, square_frame
from multiagent._stacklevel import user_stacklevel
from multiagent.dynamics import check_beliefs

__all__ = ["Message", "Reply", "Agent", "ScriptedFJAgent", "parse_belief", "format_belief",
           "run_debate"]


@dataclass(frozen=True)
class Message:
    """What one agent said in one round.

    Attributes
    ----------
    sender
        Index of the agent that spoke.
    round
        Round it spoke in (0: initial answers).
    belief
        ``(K,)`` probability vector over the options.
    text
        What it wrote (e.g. :func:`format_belief`'s ``<BELIEF>`` JSON).
    """

    sender: int
    round: int
    belief: np.ndarray
    text: str


@dataclass(frozen=True)
class Reply:
    """An agent's answer: a belief vector over the options and free text.

    Attributes
    ----------
    belief
        ``(K,)`` probability vector over the options.
    text
        Free text, e.g. the reasoning and a ``<BELIEF>`` block.
    """

    belief: np.ndarray
    text: str


@runtime_checkable
class Agent(Protocol):
    """Anything that answers a question given the peers' messages."""

    def respond(
        self, question: str, options: Sequence[str], messages: Sequence[Message], round: int
    ) -> Reply:
        """Answer at ``round`` (0: no messages yet) given the messages it can see.

        Parameters
        ----------
        question
            The question text.
        options
            Option labels, e.g. ``("A", "B", "C", "D", "E")``.
        messages
            Messages of the previous round from the peers it listens to.
        round
            Current round.

        Returns
        -------
        Reply
            Its belief over ``options`` and its text.
        """
        ...


def format_belief(belief: Any, options: Sequence[str]) -> str:
    """Render a belief as ``<BELIEF>{"A": 0.7, ...}</BELIEF>`` plus an ``ANSWER:`` line.

    Parameters
    ----------
    belief
        ``(K,)`` probability vector.
    options
        The K option labels.

    Returns
    -------
    str
        Text that :func:`parse_belief` reads back.
    """
    b = np.asarray(belief, dtype=np.float64)
    payload = json.dumps({o: round(float(p), 12) for o, p in zip(options, b)})
    return f"<BELIEF>{payload}</BELIEF>\nANSWER: {options[int(np.argmax(b))]}"


def _tagged(text: str, pattern: str, tag: str) -> str | None:
    """Return what follows ``<UPDATED_TAG>`` (preferred) or ``<TAG>``, colon or not."""
    for name in (f"UPDATED_{tag}", tag):
        m = re.search(rf"<{name}>\s*:?\s*({pattern})", text, re.S)
        if m:
            return m.group(1)
    return None


_PERCENT = re.compile(r"\s*(.+?)\s*%\s*")  # "70%", "70 %"
_DECOR = "*.,;:()[]'\""  # around an answer: "**C**", "C." as models write it


def _number_of(value: Any) -> float:
    """Read a belief entry as a float: a number, a numeric string, or a percentage string.

    ``"70%"`` (also ``"70 %"``) is 0.7, as models write probabilities; a boolean is no
    probability (``float(True)`` read JSON ``true`` as 1) and raises a TypeError, as does
    ``None``; other text raises a ValueError.
    """
    if isinstance(value, bool):
        raise TypeError("a boolean belief")
    if isinstance(value, str):
        m = _PERCENT.fullmatch(value)
        if m:
            return float(m.group(1)) / 100.0
    return float(value)


def _load_block(block: str) -> Any:
    """Load the ``{...}`` block as JSON, else as a Python literal (single quotes, trailing comma).

    Never ``eval``: :func:`ast.literal_eval` reads literals only.  A block neither reads
    raises a ValueError.
    """
    try:
        return json.loads(block)
    except ValueError:
        pass
    try:
        return ast.literal_eval(block)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    # JSON literals (null, Infinity) with a trailing comma
    return json.loads(re.sub(r",\s*\}\s*$", "}", block))


def _key_option(key: str, options: Sequence[str]) -> int | None:
    """Return the option a key that is not exactly a label names, if only one fits (else None).

    A key names option ``o`` when, stripped and case-folded, it is ``o`` or it starts with
    ``o`` followed by one of ``( ) : - ]``, or by a ``.`` that no digit follows (``"a"``,
    ``" B "``, ``"A (Paris)"``, ``"C) Nice"``, ``"1. Paris"``), also after the word
    ``option``, ``choice`` or ``answer`` (``"Option A"``, ``"choice: b"``); ``"Apple"``,
    ``"a priori"`` or ``"1.5"`` (beside option ``"1"``) name no option.
    """
    k = key.strip().casefold()
    labels = [str(o).strip().casefold() for o in options]

    def naming(k: str) -> list[int]:
        # "1.5" is a number, not option "1" followed by a separator
        return [i for i, o in enumerate(labels)
                if k == o or re.match(re.escape(o) + r"\s*(?:[():\-\]]|\.(?!\d))", k)]

    found = naming(k)
    if not found:  # "Option A", "choice: b": the word before the label (read as no option)
        word = re.fullmatch(r"(?:option|choice|answer)\s*[:#]?\s*(\S.*)", k)
        found = [] if word is None else naming(word.group(1))
    return found[0] if len(found) == 1 else None


#: How far from 1 (or 100, in percent) the options' entries may sum and still be a complete
#: belief, beside which other keys are metadata: two-decimal rounding of a few options
_COMPLETE = 0.02


def _is_percent(value: Any) -> bool:
    """Whether a belief entry is a percentage string (``"70%"``)."""
    return isinstance(value, str) and _PERCENT.fullmatch(value) is not None


def _extra_keys(unknown: Mapping[str, float], repeats: Mapping[str, tuple[str, str]],
                options: Sequence[str]) -> str:
    """Name the keys that carry mass beside the options' own entries, saying what they are.

    ``repeats`` maps a key that names an option given already to that option and the key
    its value is read from.
    """
    names = ", ".join(repr(k) for k in [*unknown, *repeats])
    among = f"not among the options {list(options)}"
    said = [f"a repeat of option {o!r} (read from {read!r})" for o, read in repeats.values()]
    if not repeats:
        where = among
    elif not unknown and len(repeats) == 1:
        where = said[0]
    else:  # each key with what it is
        where = "; ".join([*(f"{k!r} {among}" for k in unknown),
                           *(f"{k!r} {s}" for k, s in zip(repeats, said))])
    return f"keys {names} of the <BELIEF> block, {where},"


def _read_block(d: Any, options: Sequence[str]) -> tuple[np.ndarray | None, str | None, bool]:
    """Read a parsed block: ``(belief, note, loud)``.

    ``belief`` is None when the block is unusable, ``note`` then says why; with a belief,
    ``note`` is None or names the keys outside the options (or repeating one) that carried
    (a minority of the) mass and were dropped.  Keys outside the options beside entries
    that sum to 1 (or 100) within ``_COMPLETE`` are metadata (``"confidence": 90``).
    ``loud``: a refused block says why even where the answer is read instead (keys outside
    the options carried most of its mass; percentages mixed with plain numbers).
    """
    if not isinstance(d, dict):
        return (None, "the <BELIEF> block is no mapping of option -> probability: "
                f"{d!r:.80}", False)
    # exact labels first, as they were always read; other keys by _key_option, unless
    # their option already has a value (an exact key wins: {"A": .8, "a": .1} read A)
    keys: list[Any] = [o if o in d else None for o in options]
    unknown: dict[str, float] = {}  # keys that name no option -> their mass
    repeats: dict[str, tuple[str, str]] = {}  # keys naming an option given already
    repeated: list[float] = []
    for key, value in d.items():
        if key in keys:
            continue
        i = _key_option(str(key), options)
        if i is not None and keys[i] is None:
            keys[i] = key
            continue
        try:  # an unknown key's number is mass that the options lose; text is no mass
            mass = _number_of(value)
        except (ValueError, TypeError, OverflowError):
            continue
        if np.isfinite(mass) and mass > 0:
            if i is None:
                unknown[str(key)] = mass
            else:
                repeats[str(key)] = (str(options[i]), str(keys[i]))
                repeated.append(mass)
    malformed = ("the <BELIEF> block has an entry that is no probability (negative, "
                 "non-finite, boolean, null or text)")
    try:
        b = np.array([_number_of(0.0 if k is None else d[k]) for k in keys])
    except (ValueError, TypeError, OverflowError):
        return None, malformed, False
    if not (np.isfinite(b).all() and (b >= 0).all()):
        return None, malformed, False
    # "70%" is 0.7 and 30 is 30: {"A": "70%", "B": 30} read [0.0228, 0.9772] (a 0 is 0 on
    # either scale)
    percent = [k is not None and _is_percent(d[k]) for k in keys]
    shown = [d[k] for k, p, v in zip(keys, percent, b) if k is not None and v > 0 and p]
    plain = [d[k] for k, p, v in zip(keys, percent, b) if k is not None and v > 0 and not p]
    if shown and plain:
        return None, (f"the <BELIEF> block mixes percentages ({shown[0]!r}) and plain "
                      f"numbers ({plain[0]!r}), whose scales differ: block not used"), True
    with np.errstate(over="ignore"):  # handled below
        total = b.sum()
    if abs(total - 1) <= _COMPLETE or abs(total - 100) <= 100 * _COMPLETE:
        # the options' entries form a complete belief: other keys ("confidence": 90) are
        # metadata, no mass lost ({"A": .7, "B": .3, "confidence": 90} was refused)
        unknown = {}
    dropped = None
    if unknown or repeats:
        # the share of the mass on keys that are no option (or repeat one), its sum scaled
        # by the largest entry (no overflow): {"E": 0.9, "A": 0.1} became certainty in A
        extra = [*unknown.values(), *repeated]
        top = max(max(extra), float(b.max(initial=0.0)))
        lost = sum(v / top for v in extra)
        share = lost / (lost + float((b / top).sum()))
        what = _extra_keys(unknown, repeats, options)
        if share > 0.5:  # most of the mass: renormalising the rest would invent a belief
            return None, f"{what} carry {100 * share:.3g} % of its mass: block not used", True
        dropped = (f"dropped {what} carrying {100 * share:.3g} % of its mass; the rest "
                   "renormalised")
    if not total > 0:
        return None, "the <BELIEF> block's entries for the options sum to 0", False
    if np.isinf(total):
        # finite entries whose sum overflows (1e308 twice): b / inf gave zeros and a
        # RuntimeWarning; scaled by the largest first, the sum is finite
        b = b / b.max()
        total = b.sum()
    return b / total, dropped, False


def _option_at(text: str, start: int, options: Sequence[str]) -> tuple[int | None, str]:
    """Return the option an answer written from ``text[start]`` on names (or None), and its word.

    The answer's first word, stripped of ``*.,;:()[]'"`` (``**C**``, ``C.``), when it is a
    label, as it was always read; else the longest label written there as a whole, in any
    case (``b`` for ``B``, ``not sure`` for ``Not sure``), followed by no letter, digit or
    decimal part (``Apple`` names no ``A``, ``1.5`` no ``1``); an exact-case label wins a
    tie between labels that differ in case only.
    """
    m = re.match(r"[^\s<]*", text[start:])
    word = m.group(0).strip(_DECOR) if m else ""
    if word in options:
        return list(options).index(word), word
    lead = re.match(r"[\s*(\[\"']*", text[start:])
    at = start + (lead.end() if lead else 0)
    labels = [str(o).strip() for o in options]
    found = [i for i, o in enumerate(labels) if o and re.compile(
        re.escape(o) + r"(?!\w)(?![.,]\d)", re.I).match(text, at)]
    if found:
        longest = max(len(labels[i]) for i in found)
        found = [i for i in found if len(labels[i]) == longest]
        if len(found) > 1:
            found = [i for i in found if text.startswith(labels[i], at)]
    return (found[0] if len(found) == 1 else None), word


def _answer_of(text: str, options: Sequence[str]) -> tuple[int | None, str | None]:
    """Return the option the text answers (or None) and the answer given when it is no option.

    MAS-Cascade's tag, or else the first ``ANSWER:`` line, comes first, as always; when it
    names no option, the last answer stated, in any case and form (``Final answer: **B**``),
    and only the last: an earlier one may quote a peer (``Agent 2's answer: C``).
    """
    # MAS-Cascade's tag, or a plain "ANSWER: X" line ("ANSWER:" alone never matched
    # "<UPDATED_ANSWER>: C", where a '>' comes before the colon)
    first = None
    for name in ("UPDATED_ANSWER", "ANSWER"):
        m = re.search(rf"<{name}>\s*:?\s*(?=[^\s<])", text)
        if m:
            first = m.end()
            break
    if first is None:
        m = re.search(r"ANSWER:\s*(?=[^\s<])", text)
        first = m.end() if m else None
    word = None
    if first is not None:
        i, word = _option_at(text, first, options)
        if i is not None:
            return i, None
    # the last answer stated (a tag or "answer:" in prose, any case): walking back to the
    # last one that was an option took a quoted peer's answer over the agent's own
    stated = list(re.finditer(r"(?:<(?:UPDATED_)?ANSWER>\s*:?|answer\s*\**\s*:)\s*"
                              r"(?=[^\s<])", text, flags=re.I))
    if stated:
        i, word = _option_at(text, stated[-1].end(), options)
        if i is not None:
            return i, None
    return None, word


def parse_belief(text: str, options: Sequence[str]) -> np.ndarray:
    r"""Read a belief from agent text: JSON in ``<BELIEF>``, else the answer, else uniform.

    Parameters
    ----------
    text
        An agent's reply. The belief is the JSON object after ``<UPDATED_BELIEF>`` or, when
        there is none, after ``<BELIEF>``, either closed (``<BELIEF>{...}</BELIEF>``) or in
        MAS-Cascade's prompt format (``<UPDATED_BELIEF>: {...}`` on its own line); a
        Python-style dict (single quotes) or a trailing comma is read too (by
        :func:`ast.literal_eval`, never ``eval``). The answer comes from
        ``<UPDATED_ANSWER>: X``, ``<ANSWER>: X`` or (without such a tag) the first
        ``ANSWER: X`` line; when that names no option, from the last answer stated, a tag
        or ``answer: X`` in any case (``Final answer: **B**``), and only the last: an
        earlier one may quote a peer (``Agent 2's answer: C``), and a last one that names
        no option gives the uniform belief.  An answer names an option written exactly,
        or in any case and as a whole (``b`` is ``B``, ``not sure`` is ``Not sure``; ``1.5``
        is no ``1``).  ``<think>...</think>`` blocks (a reasoning model's draft) are
        ignored.
    options
        The K option labels, the JSON keys and answer values.

    Returns
    -------
    numpy.ndarray
        ``(K,)`` probability vector (normalised, also when the entries' sum exceeds
        float64's range, e.g. two entries of 1e308; a block with negative or non-finite
        entries counts as malformed and the fallbacks apply).  An entry is a JSON number
        or a string holding one (``"0.3"``, as models sometimes quote it) or a percentage
        (``"70%"`` is 0.7; plain numbers on a 0-100 scale need nothing, as the block is
        normalised; a block that mixes percentage strings and plain numbers other than 0,
        ``{"A": "70%", "B": 30}``, is not used); a JSON ``true`` / ``false`` or ``null``
        makes the block malformed, and an option missing from the block gets 0.  Keys are
        the option labels; a key that is none names an option when, stripped of spaces and
        in any case, it is the label or the label followed by ``( ) : - ]`` or by a ``.``
        that no digit follows (``"a"``, ``"A (Paris)"``; ``"1.5"`` is no ``"1"``), unless
        that option has a value already (its exact label first): such a repeat is
        dropped.  Keys that name no option, beside options' entries that sum to 1 (or
        100) within 0.02 (or 2), are metadata and ignored
        (``{"A": 0.7, "B": 0.3, "confidence": 90}``).

    Warns
    -----
    UserWarning
        When keys that name no option (beside an incomplete belief) or repeat one carry
        mass (their names and share of the mass): a minority share is dropped and the rest
        renormalised; when they carry most of the mass the block is not used
        (``{"E": 0.9, "A": 0.1}`` is no certainty in A) and the fallbacks apply, said so
        also where the answer is read, as for a block that mixes percentages and plain
        numbers.  And whenever the uniform belief is returned, saying why: a parse failure
        enters a fit as an undecided agent.  The warnings name the caller's line outside
        the package (e.g. the :func:`run_debate` call whose agents read the text).

    Examples
    --------
    >>> parse_belief('<UPDATED_ANSWER>: B\n<UPDATED_BELIEF>: {"A": 0.25, "B": 0.75}',
    ...              ("A", "B")).tolist()
    [0.25, 0.75]
    >>> parse_belief("<BELIEF>{'a': '70%', 'b': '30%',}</BELIEF>", ("A", "B")).tolist()
    [0.7, 0.3]
    """
    K = len(options)
    # a draft belief inside the thinking is not the reply's belief
    text = re.sub(r"<think>.*?</think>", "", text, flags=re.S)
    block = _tagged(text, r"\{.*?\}", "BELIEF")
    why_not, loud = "no <BELIEF> block", False
    if block is not None:
        try:
            d = _load_block(block)
        except ValueError:
            why_not = f"the <BELIEF> block {block[:80]!r} is neither JSON nor a Python dict"
        else:
            b, note, loud = _read_block(d, options)
            if b is not None:
                if note:  # keys outside the options carried a minority of the mass
                    warnings.warn(f"parse_belief: {note}", UserWarning,
                                  stacklevel=user_stacklevel())
                return b
            why_not = note
    i, other = _answer_of(text, options)
    if i is not None:
        if loud:  # keys outside the options carried most of the mass, or mixed scales
            warnings.warn(f"parse_belief: {why_not}; read the answer {options[i]!r} instead",
                          UserWarning, stacklevel=user_stacklevel())
        return np.eye(K)[i]
    answer = (f"the answer {other!r} is not among the options {list(options)}"
              if other is not None else "no answer line")
    # a parse failure enters a fit as an undecided agent: said so (it was silent)
    warnings.warn(f"parse_belief: {why_not}; {answer}: returned the uniform belief 1/{K}",
                  UserWarning, stacklevel=user_stacklevel())
    return np.full(K, 1.0 / K)


class ScriptedFJAgent:
    """An agent that follows the three-force FJ update from the beliefs in messages.

    Parameters
    ----------
    index
        Its agent index.
    innate
        ``(K,)`` innate belief (its round-0 answer).
    gamma, alpha
        Stubbornness and peer-resistance.
    trust
        Mapping (or length-n array) speaker -> trust weight, finite and non-negative (as
        the model classes require); renormalised over the speakers actually heard each
        round.
    read_text
        Parse beliefs from message text (as an LLM would) instead of reading
        ``Message.belief``.
    """

    def __init__(
        self,
        index: int,
        innate: Any,
        gamma: float,
        alpha: float,
        trust: Any,
        *,
        read_text: bool = False,
    ) -> None:
        self.index = int(index)
        # a copy: the caller's array (a row of its beliefs) refilled later moved the anchor
        self.innate = np.array(innate, dtype=np.float64)
        check_beliefs(self.innate[None], 1, f"innate belief of agent {index}", simplex=True)
        g, a = _number("gamma", gamma), _number("alpha", alpha)
        if not (0 <= g <= 1 and 0 <= a <= 1):
            raise ValueError(f"gamma and alpha of agent {index} must be in [0, 1], got "
                             f"gamma={gamma}, alpha={alpha}")
        self.gamma, self.alpha = g, a
        _check_trust(trust, self.index)
        self.trust = trust
        self.read_text = read_text
        self.current = self.innate.copy()

    def __repr__(self) -> str:
        # what a notebook shows (it was "<multiagent.agents.ScriptedFJAgent object at
        # 0x...>"): its forces and beliefs, innate and current
        def few(b: np.ndarray) -> str:
            return "[" + ", ".join(f"{v:.3g}" for v in b[:5]) + (", ...]" if len(b) > 5 else "]")

        text = ", read_text=True" if self.read_text else ""
        return (f"ScriptedFJAgent(index={self.index}, gamma={self.gamma:g}, alpha={self.alpha:g}"
                f"{text}; innate {few(self.innate)}, current {few(self.current)})")

    def respond(
        self, question: str, options: Sequence[str], messages: Sequence[Message], round: int
    ) -> Reply:
        """Return the FJ update of its own belief given the previous round's messages.

        Parameters
        ----------
        question
            The question text (unused: the agent is scripted).
        options
            Option labels.
        messages
            Messages it can see; those of round ``round - 1`` from other agents count.
        round
            Current round; round 0 returns (and resets to) the innate belief.

        Returns
        -------
        Reply
            The new belief and its ``<BELIEF>`` text.
        """
        if round == 0:
            self.current = self.innate.copy()
            return Reply(self.current.copy(), format_belief(self.current, options))
        peers = [m for m in messages if m.sender != self.index and m.round == round - 1]
        w = np.array([float(self.trust[m.sender]) for m in peers])
        if peers and w.sum() > 0:
            beliefs = np.stack([parse_belief(m.text, options) if self.read_text else m.belief
                                for m in peers])
            social = (w / w.sum()) @ beliefs
        else:
            social = self.current
        new = self.gamma * self.innate + (1 - self.gamma) * (
            self.alpha * self.current + (1 - self.alpha) * social
        )
        self.current = new
        return Reply(new.copy(), format_belief(new, options))


def _number(name: str, value: Any) -> float:
    """``value`` as a float, NaN for NaN or inf (the range check then names it).

    Bools and text were read as numbers (``True`` as 1): refused with a TypeError, as
    :func:`core.checks.check_number` refuses them elsewhere in the package.
    """
    try:
        return check_number(name, value)
    except ValueError:  # NaN or infinite
        return float("nan")


def _check_trust(trust: Any, index: int) -> None:
    """Refuse negative or non-finite trust, naming the speaker, as the model classes do.

    A negative weight was accepted: it pushed the agent away from that peer, off the
    simplex, where :class:`~multiagent.dynamics.FriedkinJohnsen` refuses such a ``W``.
    """
    if isinstance(trust, Mapping):
        items = list(trust.items())
    else:
        try:
            values = np.asarray(as_numpy(trust), dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"trust of agent {index}: expected a mapping or a vector of "
                            f"speaker -> trust weight, got {type(trust).__name__}") from None
        if values.ndim != 1:
            raise ValueError(f"trust of agent {index}: expected one weight per speaker (a "
                             f"1-D vector), got shape {values.shape}")
        items = list(enumerate(values.tolist()))
    for j, w in items:
        try:
            w = float(w)
        except (TypeError, ValueError):
            raise TypeError(f"trust[{j!r}]: expected a number, the trust of agent {index} in "
                            f"agent {j!r}, got {w!r}") from None
        if not np.isfinite(w):
            raise ValueError(f"trust[{j!r}] (agent {j!r}) is not finite")
        if w < 0:
            raise ValueError(f"trust[{j!r}] = {w:.4g} < 0: the trust of agent {index} in agent "
                             f"{j!r} must be non-negative")


def run_debate(
    agents: Sequence[Agent],
    adjacency: Any,
    *,
    question: str = "",
    options: Sequence[str] = ("A", "B", "C", "D", "E"),
    rounds: int = 10,
) -> tuple[np.ndarray, list[list[str]]]:
    """Let agents debate for ``rounds`` rounds; agent ``i`` sees messages of ``j`` if ``A_ij > 0``.

    Parameters
    ----------
    agents
        The n agents (anything with :meth:`Agent.respond`).
    adjacency
        ``(n, n)`` array; ``A_ij > 0``: agent ``i`` sees agent ``j``'s messages.
    question
        Question text passed to every agent.
    options
        The K option labels.
    rounds
        Rounds after the initial answers (round 0).

    Returns
    -------
    transcript, texts
        ``(rounds + 1, n, K)`` beliefs (the format :func:`multiagent.fit.fit_fj` takes)
        and the texts per round and agent.

    Examples
    --------
    Two scripted agents who keep half their innate answer and hear each other reach the FJ
    equilibrium ``(2/3, 1/3)``:

    >>> import numpy as np
    >>> from multiagent import ScriptedFJAgent, run_debate
    >>> agents = [ScriptedFJAgent(0, [1.0, 0.0], gamma=0.5, alpha=0.0, trust=[0.0, 1.0]),
    ...           ScriptedFJAgent(1, [0.0, 1.0], gamma=0.5, alpha=0.0, trust=[1.0, 0.0])]
    >>> A = np.array([[0, 1], [1, 0]])
    >>> X, texts = run_debate(agents, A, options=("A", "B"), rounds=20)
    >>> X.shape  # (rounds + 1, agents, options)
    (21, 2, 2)
    >>> X[1].round(4).tolist()  # half innate, half the peer's round-0 answer
    [[0.5, 0.5], [0.5, 0.5]]
    >>> X[-1].round(4).tolist()
    [[0.6667, 0.3333], [0.3333, 0.6667]]
    """
    # a negative count failed in np.stack ("need at least one array"), 2.5 in range()
    rounds = check_count("rounds", rounds, at_least=0)
    # also a scipy or torch sparse adjacency; a DataFrame is read by label
    A = as_dense_numpy(square_frame(adjacency, "adjacency")) > 0
    n = len(agents)
    if A.shape != (n, n):
        raise ValueError(f"adjacency must be ({n}, {n}) for {n} agents, got {A.shape}")
    last: list[Message] = []  # the previous round's messages, in sender order
    transcript, texts = [], []
    for t in range(rounds + 1):
        replies = []
        for i, agent in enumerate(agents):
            # agents see only round t - 1: index it by sender instead of scanning the whole
            # history, which made a debate quadratic in its rounds as well as its agents
            visible = [last[j] for j in np.flatnonzero(A[i])] if last else []
            reply = agent.respond(question, options, visible, t)
            # a copy: an agent that updates the array it returned in place showed the
            # agents after it its next round's belief instead of this round's
            b = np.array(reply.belief, dtype=np.float64)
            if b.shape != (len(options),):
                raise ValueError(f"agent {i} returned a belief of shape {b.shape}, "
                                 f"expected ({len(options)},)")
            replies.append(Reply(b, reply.text))
        check_beliefs(np.stack([r.belief for r in replies]), n, f"round {t} beliefs",
                      simplex=True)
        last = [Message(i, t, r.belief, r.text) for i, r in enumerate(replies)]
        transcript.append(np.stack([r.belief for r in replies]))
        texts.append([r.text for r in replies])
    return np.stack(transcript), texts
