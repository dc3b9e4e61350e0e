"""Training: the loop every ``srcli train`` command shares (``loop.py``: ``fit`` owns the run; ``config.py``,
``data.py``, ``state.py``), one module per task (sr, cs, colorize, gan, naturalness, usrnet) and, torch-free,
each task's configuration: its command line's options (``configs/``)."""
