"""srcli: image restoration whose saved files are exactly consistent with their input."""

import warnings

# torch warns at import when NumPy is absent; srcli never needs NumPy.
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

__version__ = "0.2.0"
