from __future__ import annotations

from ao_testing.fakes.webhook_receiver import webhook_receiver

__all__ = ["webhook_receiver"]
