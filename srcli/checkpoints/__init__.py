"""The checkpoints layer: trained weights as files, and the choice of which ones a command runs.

Named ``checkpoints`` (not ``weights``) because the wheel ships the repository's ``weights/`` folder of
safetensors files as ``srcli/weights``: a package of that name would collide with the data. Here: safe loading
(``load``), the manifest of named models (``manifest``), the Hugging Face Hub cache (``hub``), a name or path
to a loaded model (``resolve``), the realism blend (``blend``)
and the NIQE pristine statistics (``pristine``).
"""
