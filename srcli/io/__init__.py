"""The files layer: what srcli reads and writes, and nothing it computes beyond that.

Images with their depth, alpha, ICC and EXIF (``images``), 16-bit TIFF (``tiff16``), never-clobber writes
(``atomic``), compressed-sensing measurement files (``csfile``), blur kernel files (``kernel_files``), Pillow's
resize as a file would hold it (``pillow_resize``), degradation specs (``degradation_spec``) and the benchmark
test sets (``testsets``). May import the maths layer and ``srcli.errors``; never a network.
"""
