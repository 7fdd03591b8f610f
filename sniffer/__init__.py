"""camshark: the application that captures, stores, shows and exports (sources, pipeline, views)."""

__version__ = "0.1.0"
