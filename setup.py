"""The optional C kernels (``dissectors._speedups``); everything else is in pyproject.toml.

``optional=True``: without a compiler the install still succeeds and camshark uses the
pure-Python versions in ``dissectors.speedups``.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("dissectors._speedups", ["dissectors/_speedups.c"], optional=True),
    ]
)
