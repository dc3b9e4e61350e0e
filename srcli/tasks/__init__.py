"""Tasks: what srcli does to one file or one folder.

The one engine (``run.py``), then SR, colorization, CS, checking, degrading, batches and benchmarks.
"""
