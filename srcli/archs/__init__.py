"""Network architectures, one module each, with upstream state-dict layouts."""
