"""One configuration per ``srcli train`` command: its options (type, default, help, flag), the checks on
their values and what follows from them. Torch-free, so that the command line is built from them at every
start; a check that needs torch imports it when it runs."""
