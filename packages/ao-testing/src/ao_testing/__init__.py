"""Test kit for ao plugins: contract suites per slot and local fakes of external services."""
