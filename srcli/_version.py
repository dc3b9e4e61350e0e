"""srcli's version, in a module of its own so that every layer may read it without importing the API."""

__version__ = "0.3.0"
