"""One module per ``ao`` subcommand; each exposes ``register(subparsers)``."""
