"""The maths layer: pure tensor code that imports torch and nothing else (no files, no srcli errors).

Operators and PD (``operators``), the degradation operators (``degradations``), the blur kernels they take
(``blur_kernels``), the integer round trip a saved file must survive (``round_trip``), the exact quantiser
(``exact``), tiling, the self-ensemble, resampling, denoising, metrics and NIQE. Shapes are ``(B, C, H, W)``
unless a docstring says otherwise.
"""
