"""The performance harness of ao: ``python -m benchmarks`` (or ``nox -s bench``)."""
