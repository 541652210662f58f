"""Entry point: ``python -m batch score`` (see :mod:`batch.cli`)."""

from batch.cli import main

raise SystemExit(main())
