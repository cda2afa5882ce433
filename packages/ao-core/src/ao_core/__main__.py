"""``python -m ao_core`` runs the ``ao`` command."""

import sys

from ao_core.cli import main

sys.exit(main())
