"""Training: the loop every ``srcli train`` command shares (``loop.py``: ``fit`` owns the run; ``config.py``,
``data.py``, ``state.py``) and one module per task (sr, cs, colorize, gan, naturalness)."""
