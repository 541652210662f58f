"""Entry point: ``python -m training COMMAND`` (see :mod:`training.cli`)."""

from training.cli import main

raise SystemExit(main())
