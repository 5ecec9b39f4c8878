"""prunus.biomodels.grn."""
