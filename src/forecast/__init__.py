"""Rival hypotheses, quote-verified evidence and Bayesian posteriors for political events."""
