"""The optional C kernels (``dissectors._speedups``, ``dissectors._dualcam_speedups``,
``dissectors._smartlpr_pairing``, ``dissectors._smartlpr_json``, ``sniffer.sources._fast_path``,
``sniffer._lean_count``, ``sniffer._settle``, ``dissectors._lean_record``); everything else is
in pyproject.toml.

``optional=True``: without a compiler the install still succeeds and camshark uses the
pure-Python versions in ``dissectors.speedups``, ``dissectors.dualcam.speedups``,
``dissectors.smartlpr.pairing``, ``sniffer.sources.fast_packets``, ``sniffer.stats`` and
``sniffer.settle`` (and ``dissectors.bulk.LeanRecordPython``), and renders every JSON record
through its ``Record``."""

from setuptools import Extension, setup

PY_INTS = ["dissectors/py_ints.h"]
"""The int reader the kernels below share (``depends``: a change rebuilds them, and the sdist
carries it)."""
SMARTLPR_WIRE = ["dissectors/smartlpr_wire.h", *PY_INTS]
"""The header the SmartLPR kernels share, and what it includes."""

setup(
    ext_modules=[
        Extension(
            "dissectors._speedups",
            ["dissectors/_speedups.c"],
            depends=SMARTLPR_WIRE,
            optional=True,
        ),
        Extension(
            "dissectors._dualcam_speedups", ["dissectors/_dualcam_speedups.c"], optional=True
        ),
        Extension("sniffer.sources._fast_path", ["sniffer/sources/_fast_path.c"], optional=True),
        Extension(
            "dissectors._smartlpr_pairing",
            ["dissectors/_smartlpr_pairing.c"],
            depends=SMARTLPR_WIRE,
            optional=True,
        ),
        Extension(
            "dissectors._smartlpr_json",
            ["dissectors/_smartlpr_json.c"],
            depends=SMARTLPR_WIRE,
            optional=True,
        ),
        Extension("sniffer._lean_count", ["sniffer/_lean_count.c"], depends=PY_INTS, optional=True),
        Extension("sniffer._settle", ["sniffer/_settle.c"], optional=True),
        Extension("dissectors._lean_record", ["dissectors/_lean_record.c"], optional=True),
    ]
)
