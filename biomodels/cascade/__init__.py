"""prunus.biomodels.cascade."""
