"""Say which SIMD kernels numpy dispatches to here, and refuse a NPY_DISABLE_CPU_FEATURES
that this numpy does not understand (the run it guards would silently test nothing new).

``make test`` runs it before nbval's second configuration, under the same environment.
numpy 2.4 and later name its dispatch targets X86_V3 (AVX2 level), X86_V4 (AVX-512) and
AVX512_ICL / AVX512_SPR; older numpy names single features (AVX2, AVX512F, ...).
"""

from __future__ import annotations

import os
import sys

import numpy as np

try:
    from numpy._core._multiarray_umath import __cpu_baseline__, __cpu_dispatch__, __cpu_features__
except ImportError:  # numpy < 2
    from numpy.core._multiarray_umath import __cpu_baseline__, __cpu_dispatch__, __cpu_features__

asked = os.environ.get("NPY_DISABLE_CPU_FEATURES", "").replace(",", " ").split()
unknown = [name for name in asked if name not in __cpu_dispatch__]
active = [name for name in __cpu_dispatch__ if __cpu_features__.get(name)]
print(f"numpy {np.__version__}: baseline {' '.join(__cpu_baseline__)}; dispatch targets in use: "
      f"{' '.join(active) or 'none'} (disabled: {' '.join(asked) or 'none'}); "
      f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
x86 = any(name.startswith(("X86_", "SSE", "AVX")) for name in (*__cpu_baseline__, *__cpu_dispatch__))
if unknown and not x86:
    print("not an x86 CPU: these names do not apply here; the run differs in BLAS threads only")
elif unknown:
    sys.exit(f"numpy {np.__version__} has no dispatch target named {' '.join(unknown)} (it has "
             f"{' '.join(__cpu_dispatch__)}): NPY_DISABLE_CPU_FEATURES would change nothing")
