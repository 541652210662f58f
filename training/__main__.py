"""Entry point: ``python -m training data|eda|train`` (see :mod:`training.cli`)."""

from training.cli import main

raise SystemExit(main())
