"""``python -m bayes_scaling.cli``: the same entry point as the ``bayes-scaling`` command."""

from bayes_scaling.cli import main

raise SystemExit(main())
