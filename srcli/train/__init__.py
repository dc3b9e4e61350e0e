"""Training: the loop every ``srcli train`` command shares (``loop.py``) and one module per task."""
