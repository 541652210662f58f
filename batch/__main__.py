"""Entry point: ``python -m batch score|bench`` (see :mod:`batch.cli`)."""

from batch.cli import main

raise SystemExit(main())
