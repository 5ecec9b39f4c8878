"""Argument checks shared by core's optimizers and reparametrizations.

A NaN slips past ``x <= 0``; these checks reject it (and inf) by name.
"""

from __future__ import annotations

import math
import numbers
import operator
import os
import re
import zipfile
from typing import Any

import torch

# re-exported: they lived here before core.textfiles opened user's text files in one place
from core.textfiles import comment_line_note, text_encoding, uncompressed_name

__all__ = [
    "NotFittedError",
    "check_count",
    "check_device",
    "check_h5ad_key",
    "check_number",
    "check_seed",
    "comment_line_note",
    "host_array",
    "not_utf8_text",
    "refuse_meta",
    "refuse_unordered",
    "text_encoding",
    "torch_file_problem",
    "uncompressed_name",
]

def check_device(device: Any, name: str = "device") -> torch.device:
    """Return ``device`` as a ``torch.device`` that can hold tensors here (CPU for None).

    ``torch.device("gpu")`` failed with "Expected one of cpu, cuda, ipu, xpu, ... device
    type", the meta device later with "META device type not an accelerator" and a GPU this
    machine lacks with "Torch not compiled with CUDA enabled", none naming the argument.

    Parameters
    ----------
    device
        None, a device name (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``), a
        ``torch.device`` or a CUDA index.
    name
        The argument's name, for the messages.

    Returns
    -------
    torch.device
        The device.

    Raises
    ------
    TypeError
        If ``device`` is of another type.
    ValueError
        If it names no device type, is the meta device (it holds no values), or is a CUDA
        or MPS device this machine does not have.

    Examples
    --------
    >>> check_device(None), check_device("cpu")
    (device(type='cpu'), device(type='cpu'))
    >>> check_device("gpu")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: device: expected a torch device such as 'cpu', 'cuda', 'cuda:1' or 'mps', ...
    """
    if device is None:
        return torch.device("cpu")
    if isinstance(device, bool) or not isinstance(device, str | torch.device | int):
        raise TypeError(f"{name}: expected a device name such as 'cpu' or 'cuda', a "
                        f"torch.device or a CUDA index, got {type(device).__name__}")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError) as err:  # torch's lists every type it knows
        raise ValueError(f"{name}: expected a torch device such as 'cpu', 'cuda', 'cuda:1' "
                         f"or 'mps', got {device!r}") from err
    if dev.type == "meta":
        raise ValueError(f"{name}: the meta device holds no values (only shapes); pass "
                         "'cpu' or a GPU")
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"{name}: {str(dev)!r} asks for a CUDA GPU, but torch sees none "
                             "here (torch.cuda.is_available() is False); pass 'cpu'")
        if dev.index is not None and dev.index >= count:
            raise ValueError(f"{name}: {str(dev)!r} asks for GPU {dev.index}, but torch sees "
                             f"{count} (indices 0-{count - 1})")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{name}: 'mps' asks for Apple's GPU, which torch does not see here "
                         "(torch.backends.mps.is_available() is False); pass 'cpu'")
    return dev


def refuse_meta(x: Any, name: str,
                fix: str = "pass a tensor with data, on the CPU or a GPU") -> None:
    """Raise ``ValueError`` naming ``name`` when ``x`` is a tensor on the ``meta`` device.

    A meta tensor has a shape and a dtype but no values: checks and copies failed deep in
    torch ("Tensor.item() cannot be called on meta tensors", or a ``NotImplementedError``
    "Cannot copy out of meta tensor; no data!"), naming no argument.

    Parameters
    ----------
    x
        Anything; only a ``torch.Tensor`` on the meta device is refused.
    name
        The argument's name, for the message.
    fix
        What to do instead, for the message.

    Raises
    ------
    ValueError
        If ``x`` is a tensor on the meta device.

    Examples
    --------
    >>> refuse_meta(torch.empty(2, device="meta"), "theta")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: theta: is on the meta device (a shape without values); pass a tensor ...
    """
    if isinstance(x, torch.Tensor) and x.device.type == "meta":
        raise ValueError(f"{name}: is on the meta device (a shape without values); {fix}")


def host_array(x: Any, name: str = "input") -> Any:
    """Return a torch tensor as a CPU numpy array (float64 unless bool), anything else as is.

    ``np.asarray`` fails on a tensor on a GPU, one that needs grad and a bfloat16 one
    ("Got unsupported ScalarType BFloat16"); float64 holds every other float exactly.

    Parameters
    ----------
    x
        A tensor, or anything numpy reads (returned unchanged).
    name
        The argument's name, for the message that refuses a meta tensor.

    Returns
    -------
    numpy.ndarray or object
        The tensor's values, detached, on the CPU.

    Raises
    ------
    ValueError
        If ``x`` is a tensor on the meta device (it holds no values).

    Examples
    --------
    >>> host_array(torch.tensor([1.5, 2.0], dtype=torch.bfloat16, requires_grad=True))
    array([1.5, 2. ])
    """
    if isinstance(x, torch.Tensor):
        refuse_meta(x, name)  # .cpu() failed with torch's "Cannot copy out of meta tensor"
        x = x.detach().cpu()
        return (x if x.dtype == torch.bool else x.to(torch.float64)).numpy()
    return x


#: How a file of torch.save's legacy format (``_use_new_zipfile_serialization=False``)
#: starts: pickle protocol 2, then torch's magic number 0x1950a86a20f9469cfc6c.
_LEGACY_TORCH = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"


def _zero_dim(value: Any) -> bool:
    # a 0-d numpy array or torch tensor, as np.float64(x) * y or a torch reduction give
    return getattr(value, "ndim", None) == 0 and callable(getattr(value, "item", None)) \
        and not isinstance(value, numbers.Number)


def check_number(name: str, value: float, *, above: float | None = None,
                 at_least: float | None = None, at_most: float | None = None) -> float:
    """Return ``value`` as a float after checking it is finite and in range.

    Parameters
    ----------
    name
        Argument name used in the error message.
    value
        The value to check (a 0-d array or tensor stands for the number it holds).
    above, at_least
        Strict and non-strict lower bounds (either, both or none).
    at_most
        Non-strict upper bound.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If it is NaN or infinite or below a bound.

    Examples
    --------
    >>> check_number("clamp", 5, above=0)
    5.0
    """
    if _zero_dim(value):  # np.array(0.3), torch.tensor(0.3): the number they hold
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    if above is not None and not v > above:
        raise ValueError(f"{name}: expected > {above}, got {value!r}")
    if at_least is not None and not v >= at_least:
        raise ValueError(f"{name}: expected >= {at_least}, got {value!r}")
    if at_most is not None and not v <= at_most:
        raise ValueError(f"{name}: expected <= {at_most}, got {value!r}")
    return v


def _refuse_complex(owner: str, groups: list[dict[str, Any]], *, arg: str = "params",
                    reason: str, instead: str = "") -> None:
    """Raise ``TypeError`` naming ``owner`` and ``arg`` if a group holds a complex parameter.

    A group's ``params`` given as an iterator is made a list first, as torch makes it: the
    check used up a generator that torch then read (an empty group). Named parameters
    (``(name, tensor)`` pairs, torch >= 2.6) are checked too. ``reason`` says what the
    optimizer cannot do with complex numbers, ``instead`` ends the advice.
    """
    for group in groups:
        params = group["params"]
        if not isinstance(params, torch.Tensor | set | list):  # torch refuses a set itself
            group["params"] = params = list(params)
        for p in [params] if isinstance(params, torch.Tensor) else params:
            if isinstance(p, tuple) and len(p) == 2:
                p = p[1]
            if isinstance(p, torch.Tensor) and p.is_complex():
                raise TypeError(
                    f"{arg}: {owner} takes real floating-point parameters, got a {p.dtype} "
                    f"one of shape {tuple(p.shape)} ({reason}); hold the real and imaginary "
                    f"parts as two real parameters (torch.view_as_real){instead}")


def _refuse_sparse_grads(owner: str, groups: list[dict[str, Any]], *, instead: str) -> None:
    """Raise ``TypeError`` naming ``owner`` on a sparse gradient, before any step.

    ``nn.Embedding(..., sparse=True)`` gives one. NanoAdam's step failed in torch with
    "reshape is not implemented for sparse tensors"; HORST's mirror-first step moved the
    weights, then its inner AdamW raised, naming Adam. ``instead`` ends the advice.
    """
    for group in groups:
        for p in group["params"]:
            if p.grad is not None and p.grad.layout != torch.strided:
                raise TypeError(
                    f"params: {owner} needs dense gradients, got a {p.grad.layout} gradient "
                    f"for a parameter of shape {tuple(p.shape)}; build its layer with "
                    f"sparse=False (nn.Embedding's default), or train it with {instead}")


def _check_betas(betas: Any) -> tuple[float, float]:
    """Return Adam's ``betas`` as two floats in ``[0, 1)`` (numpy scalars, 0-d arrays too)."""
    try:
        values = [check_number("betas", b) for b in betas]
    except TypeError:  # betas=0.9, "ab", (0.9, "x")
        raise TypeError(f"betas: expected two numbers in [0, 1), got {betas!r}") from None
    except ValueError:  # NaN or inf
        values = []
    if len(values) != 2 or not all(0.0 <= b < 1.0 for b in values):
        raise ValueError(f"betas: expected two values in [0, 1), got {betas}")
    return values[0], values[1]


def check_count(name: str, value: int, *, at_least: int = 1) -> int:
    """Return the integer setting ``value`` (a count, a size, a seed) as an int.

    ``int()`` would truncate ``10.5`` without a word, so floats are refused even when
    whole; numpy integers, 0-d integer arrays and one-element integer tensors are accepted,
    bools are not.

    Parameters
    ----------
    name
        Argument name used in the error message.
    value
        The value to check.
    at_least
        Smallest allowed value.

    Returns
    -------
    int

    Raises
    ------
    TypeError
        If ``value`` is not an integer.
    ValueError
        If it is below ``at_least``.

    Examples
    --------
    >>> check_count("n_runs", 100)
    100
    """
    refused = TypeError(f"{name}: expected an integer >= {at_least}, got {value!r}")
    if _zero_dim(value) and not isinstance(value, torch.Tensor):
        value = value.item()  # np.array(3): its int (a float one is refused below)
    if isinstance(value, bool) or getattr(value, "dtype", None) == torch.bool:
        raise refused
    if isinstance(value, numbers.Integral):
        v = int(value)
    elif isinstance(value, torch.Tensor):
        try:  # an integer tensor of one element indexes like an int; a float one does not
            v = operator.index(value)
        except TypeError:
            raise refused from None
    else:
        raise refused
    if v < at_least:
        raise ValueError(f"{name}: expected an integer >= {at_least}, got {value!r}")
    return v


def check_seed(seed: Any, name: str = "seed", *, optional: bool = True,
               bits: int | None = None) -> int | None:
    """Return a random seed as an int >= 0, or None (unseeded) as it is.

    numpy and torch would take ``1.5`` as 1 (or fail with a message that does not name the
    argument), so public ``seed=`` arguments go through here.

    Parameters
    ----------
    seed
        The seed.
    name
        Argument name used in the error message.
    optional
        Whether None (unseeded) is allowed.
    bits
        Largest seed size, in bits: 64 for a ``torch.Generator`` ("Overflow when unpacking
        long long" above), 32 for numpy's legacy global generator; None for no bound
        (``numpy.random.default_rng`` takes any size).

    Returns
    -------
    int or None

    Raises
    ------
    TypeError
        If ``seed`` is not an integer (or None where ``optional``).
    ValueError
        If it is negative, or does not fit in ``bits``.

    Examples
    --------
    >>> check_seed(3), check_seed(None)
    (3, None)
    """
    if seed is None and optional:
        return None
    value = check_count(name, seed, at_least=0)
    if bits is not None and value >= 2**bits:
        raise ValueError(f"{name}: expected an integer below 2**{bits} (a {bits}-bit seed), "
                         f"got {seed!r}")
    return value


def check_h5ad_key(name: str, key: Any) -> str:
    """Return ``key`` if AnnData can write it to h5ad as a ``varp``/``uns`` key.

    None, ``1`` or ``"a/b"`` were stored in memory, and ``write_h5ad`` failed later with an
    AttributeError that named neither the key nor the cause.

    Parameters
    ----------
    name
        Argument name used in the error message.
    key
        The key.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If ``key`` is not a non-empty string without ``/``.

    Examples
    --------
    >>> check_h5ad_key("key_added", "grn")
    'grn'
    """
    if not isinstance(key, str) or not key or "/" in key:
        raise ValueError(f"{name} must be a non-empty string without '/' (an h5ad key), "
                         f"got {key!r}")
    return key


def refuse_unordered(value: Any, arg: str, what: str) -> None:
    """Raise ``TypeError`` naming ``arg`` when ``value`` is a ``set`` or ``frozenset``.

    The rule for names that are matched to data by position (events to columns, labels to
    nodes, genes to rows): a set's iteration order follows string hashing, which changes
    from one fresh process to the next (``PYTHONHASHSEED``), so the names went to other
    columns in each run and the answers changed without a word. A dict's keys, a pandas
    Index and any other sequence keep their order and pass.

    Parameters
    ----------
    value
        The names given; only a ``set`` or ``frozenset`` is refused.
    arg
        The argument's name, for the message.
    what
        What the names are (``"event names"``), for the message.

    Raises
    ------
    TypeError
        If ``value`` is a ``set`` or ``frozenset``.

    Examples
    --------
    >>> refuse_unordered(["b", "a"], "event_names", "event names")
    >>> refuse_unordered({"a"}, "event_names", "event names")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: event_names: expected a list (or other ordered sequence) of event names, ...
    """
    if isinstance(value, set | frozenset):
        raise TypeError(
            f"{arg}: expected a list (or other ordered sequence) of {what}, in the order of "
            f"the data; got a {type(value).__name__}, whose order changes from one run to "
            f"the next (it follows string hashing), so the names would be attached to the "
            f"wrong data; pass a list, e.g. sorted({arg}) if that is the order")


class NotFittedError(ValueError, RuntimeError):
    """A model was asked for what only a fit gives (its network, parameters, samples).

    A ``ValueError`` and a ``RuntimeError`` at once, so that ``except`` clauses written for
    either kind (grn raised the first, ctmc the second) keep working.
    """


def torch_file_problem(path: Any) -> str | None:
    """Say why the file ``path`` cannot be one that ``torch.save`` wrote, or return None.

    For such a file (an ``.h5ad``, a CSV, a checkpoint cut short) ``torch.load`` advised
    rerunning with ``weights_only=False`` ("will likely succeed") and filing an issue.

    Parameters
    ----------
    path
        Anything ``torch.load`` accepts; only an existing file is looked at.

    Returns
    -------
    str or None
        The reason, to follow "it is not a complete file written by torch.save; ", or None
        when ``path`` is no existing file or starts as a torch file does (the zip format, or
        the format before torch 1.6).
    """
    if not isinstance(path, str | os.PathLike) or not os.path.isfile(path) \
            or zipfile.is_zipfile(path):
        return None
    with open(path, "rb") as handle:
        head = handle.read(len(_LEGACY_TORCH))
    if head == _LEGACY_TORCH:
        return None
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "it is an HDF5 file (an .h5ad? read that with anndata.read_h5ad)"
    return "it was cut short, or is another kind of file"


# the first bytes of files that are given by mistake for a text table
_BINARY_FILES = (
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file (e.g. AnnData's .h5ad)"),
    (b"\x93NUMPY", "a NumPy .npy array"),
    (b"PK\x03\x04", 'a zip archive (e.g. an Excel workbook: save the sheet as "CSV UTF-8")'),
)
# compressed data: (first bytes, kind, the suffix that has readers decompress it, the tool
# that decompresses it). bzip2's "BZh" is followed by a block size 1-9 and a block magic
_COMPRESSED_FILES = (
    (re.compile(rb"\x1f\x8b"), "gzip", ".gz", "gunzip"),
    (re.compile(rb"BZh[1-9](?:1AY&SY|\x17rE8P\x90)"), "bzip2", ".bz2", "bunzip2"),
    (re.compile(rb"\xfd7zXZ\x00"), "xz", ".xz", "unxz"),
)


def _compressed_advice(kind: str, suffix: str, tool: str, decompresses: bool,
                       decompressed: bool) -> str:
    """Say what to do with compressed data found where text was expected."""
    if decompressed:  # the reader decompressed it by its name and found more of it
        return (f"{kind}-compressed data, though it was decompressed once by its name "
                f"(compressed twice?): decompress it ({tool}) until it is text")
    if not decompresses:  # naming it .gz would change nothing
        return (f"{kind}-compressed data, which this reader does not decompress: "
                f"decompress it first ({tool})")
    return f"{kind}-compressed data (name it with {suffix} to have it decompressed)"


def not_utf8_text(err: UnicodeDecodeError, *, decompresses: bool = True,
                  decompressed: bool = False) -> str:
    r"""Say, after "<the file> is ", that a file is not UTF-8 text and how to save it so.

    A file saved by older Excel ("CSV (Comma delimited)") is Latin-1 or Windows-1252: a
    name with "ö" failed with pandas' "'utf-8' codec can't decode byte 0xf6", which did not
    say what to do. The encoding is not guessed: a wrong guess would rename genes silently.
    Compressed data (gzip, bzip2, xz) are named for what they are; the advice depends on
    the reader: "name it with .gz" is right only for one that decompresses files by their
    names (pandas' ``read_csv``, ctmc's and cascade's readers), and was given as well for a
    file named ``.gz`` already.

    Parameters
    ----------
    err
        The error raised while decoding the file.
    decompresses
        Whether the reader decompresses a file named ``.gz``, ``.bz2`` or ``.xz``; if not,
        the advice is to decompress it first.
    decompressed
        Whether the reader decompressed this file (by its name) before decoding it: data
        still compressed were compressed twice.

    Returns
    -------
    str
        The end of the message; the caller names the file before it.

    Examples
    --------
    >>> err = UnicodeDecodeError("utf-8", b"\xf6", 0, 1, "invalid start byte")
    >>> not_utf8_text(err)[:35]
    'not UTF-8 text (it has byte 0xf6: L'
    >>> err = UnicodeDecodeError("utf-8", b"\x1f\x8b\x08", 1, 2, "invalid start byte")
    >>> not_utf8_text(err, decompresses=False)  # doctest: +ELLIPSIS
    'not a text table but gzip-compressed data, which this reader does not decompress: ...'
    """
    # no position: a decoder's err.start counts from the chunk it was given, not the file
    advice = 'save it as UTF-8 text (in Excel: "CSV UTF-8")'
    if err.encoding.lower().replace("_", "-").startswith("utf-16"):  # after its BOM
        return f"not UTF-16 text, though it starts with a UTF-16 byte-order mark; {advice}"
    # an .h5ad or .xlsx given for a CSV was called Latin-1 text from older Excel
    data = bytes(err.object)
    for magic, kind in _BINARY_FILES:
        if data.startswith(magic):
            return f"not a text table but {kind}; expected CSV or TSV text"
    for pattern, kind, suffix, tool in _COMPRESSED_FILES:
        if pattern.match(data):
            said = _compressed_advice(kind, suffix, tool, decompresses, decompressed)
            return f"not a text table but {said}; expected CSV or TSV text"
    if b"\0" in data[:4096]:
        # UTF-16 text without its byte-order mark has them too
        return ("not a text table but a binary file (it has NUL bytes), or UTF-16 text "
                f"without a byte-order mark; expected CSV or TSV text: {advice}")
    bad = err.object[err.start : err.start + 1].hex()
    return (f"not UTF-8 text (it has byte 0x{bad}: Latin-1 or Windows-1252, as older "
            f'Excel\'s "CSV" saves names with accents?); {advice}')
