"""What a result was computed with: the versions and the thread count its numbers depend on.

The command lines and the fitted models' files record :func:`environment` beside their
settings, so that a result can be reproduced (or a difference in its last digits explained:
torch's thread count changes the order of floating-point sums) from the files alone.
"""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

__all__ = ["environment", "check_numpy_abi"]

#: The distributions whose versions can change a result, by their names on PyPI.
#: networkx last (added later: the keys recorded before keep their order); it draws the
#: ``fj`` commands' er/ba graphs from a seed.
_PACKAGES = ("prunus", "torch", "numpy", "scipy", "pandas", "anndata", "scanpy",
             "torchdiffeq", "pyro-ppl", "networkx")


def environment() -> dict[str, str | int]:
    """Return the versions of Python, prunus and its numerical libraries, and torch's threads.

    Versions are read from the installed distributions' metadata, without importing them
    (scanpy alone takes seconds to import); torch's is ``torch.__version__``, which names
    its build (``+cpu``, ``+cu121``).

    Returns
    -------
    dict
        ``"python"`` and one entry per distribution (``"unknown"`` when it is not
        installed, e.g. prunus run from a source tree; ``"networkx"`` last, after
        ``"pyro-ppl"``), then ``"torch_threads"``, the
        number of threads torch computes with (another count changes the last digits).

    Examples
    --------
    >>> from core.provenance import environment
    >>> env = environment()
    >>> sorted(env)[:3], isinstance(env["torch_threads"], int)
    (['anndata', 'networkx', 'numpy'], True)
    """
    import torch

    out: dict[str, str | int] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "unknown"
    # the build torch runs as ("2.2.2+cu121"), where a wheel's metadata may say "2.2.2"
    out["torch"] = str(torch.__version__)  # a plain str: TorchVersion does not unpickle
    out["torch_threads"] = torch.get_num_threads()
    return out


def check_numpy_abi(torch_version: str, numpy_version: str) -> None:
    """Refuse a torch built against numpy 1 running with numpy 2, with a message that says so.

    torch releases before 2.3 were built against numpy 1: under numpy 2 they import with a
    warning, then every ``torch.from_numpy`` and ``.numpy()`` fails with "Numpy is not
    available" deep inside a fit. pip cannot express the pair in prunus's dependencies
    (``torch>=2.2`` and ``numpy>=1.24`` both stay admitted), so prunus checks it on import.

    Parameters
    ----------
    torch_version, numpy_version
        ``torch.__version__`` and ``numpy.__version__``.

    Raises
    ------
    ImportError
        For torch < 2.3 with numpy >= 2, naming both versions and the fix.

    Examples
    --------
    >>> check_numpy_abi("2.13.0+cpu", "2.3.1")
    >>> check_numpy_abi("2.2.2", "1.26.4")
    >>> try:
    ...     check_numpy_abi("2.2.2+cpu", "2.0.0")
    ... except ImportError as err:
    ...     print(str(err).split(": ")[1])
    install 'numpy<2' or torch >= 2.3
    """
    def major_minor(v: str) -> tuple[int, int]:
        parts = (v.split("+")[0].split(".") + ["0"])[:2]
        major, minor = (int("".join(c for c in p if c.isdigit()) or 0) for p in parts)
        return major, minor

    if major_minor(torch_version) < (2, 3) and major_minor(numpy_version) >= (2, 0):
        raise ImportError(
            f"torch {torch_version} was built against numpy 1 and cannot use numpy "
            f"{numpy_version}: install 'numpy<2' or torch >= 2.3"
        )
