"""Package version (single source, read by pyproject through setuptools)."""

__version__ = "0.2.0"
