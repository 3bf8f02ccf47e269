"""Analyses of a fitted model: each takes a fit and returns numbers a report shows."""
