"""srcli: image restoration whose saved files are exactly consistent with their input."""

import warnings

from srcli._version import __version__ as __version__

# torch warns at import when NumPy is absent; srcli never needs NumPy.
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
