"""What a result was computed with: the versions and the thread count its numbers depend on.

The command lines and the fitted models' files record :func:`environment` beside their
settings, so that a result can be reproduced (or a difference in its last digits explained:
torch's thread count changes the order of floating-point sums) from the files alone.
"""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

__all__ = ["environment"]

#: The distributions whose versions can change a result, by their names on PyPI.
_PACKAGES = ("prunus", "torch", "numpy", "scipy", "pandas", "anndata", "scanpy",
             "torchdiffeq", "pyro-ppl")


def environment() -> dict[str, str | int]:
    """Return the versions of Python, prunus and its numerical libraries, and torch's threads.

    Versions are read from the installed distributions' metadata, without importing them
    (scanpy alone takes seconds to import); torch's is ``torch.__version__``, which names
    its build (``+cpu``, ``+cu121``).

    Returns
    -------
    dict
        ``"python"`` and one entry per distribution (``"unknown"`` when it is not
        installed, e.g. prunus run from a source tree), then ``"torch_threads"``, the
        number of threads torch computes with (another count changes the last digits).

    Examples
    --------
    >>> from core.provenance import environment
    >>> env = environment()
    >>> sorted(env)[:3], isinstance(env["torch_threads"], int)
    (['anndata', 'numpy', 'pandas'], True)
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
