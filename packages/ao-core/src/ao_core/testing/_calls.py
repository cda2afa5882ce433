"""Call counting and scripted failures, shared by every fake."""

from __future__ import annotations

from collections import Counter

__all__ = ["CallRecorder"]


class CallRecorder:
    """Counts calls per method and raises scripted errors; the base of every fake.

    Tests assert budgets with ``fake.calls["get_ci_checks"] == 1`` and simulate a failing backend with
    ``fake.fail_on("get_issue", TrackerError("boom"))``.
    """

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        """How many times each method was called (by method name)."""
        self._errors: dict[str, BaseException] = {}

    def fail_on(self, method: str, error: BaseException | None) -> None:
        """Make every later call of ``method`` raise ``error`` (``None`` restores normal behaviour).

        Raises:
            ValueError: when this fake has no method called ``method``.
        """
        if not callable(getattr(self, method, None)) or method.startswith("_"):
            raise ValueError(f"{type(self).__name__} has no method {method!r} to fail")
        if error is None:
            self._errors.pop(method, None)
        else:
            self._errors[method] = error

    def reset_calls(self) -> None:
        """Forget the call counts (scripted failures stay)."""
        self.calls.clear()

    def total_calls(self) -> int:
        """The number of calls of all methods together."""
        return sum(self.calls.values())

    def _record(self, method: str) -> None:
        """Count a call of ``method`` and raise its scripted error, if any."""
        self.calls[method] += 1
        error = self._errors.get(method)
        if error is not None:
            raise error.with_traceback(None)
