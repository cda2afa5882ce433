"""Faithful local fakes of external services."""
