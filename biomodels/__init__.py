"""prunus.biomodels: gene-regulatory ODEs (``grn``), CTMC mutation models (``ctmc``) and
cascade size distributions (``cascade``).

Import the subpackage you need, e.g. ``from biomodels import grn``.
"""

__all__ = ["cascade", "ctmc", "grn"]
