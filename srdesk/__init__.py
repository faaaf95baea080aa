"""srdesk: make photos larger and sharper with learned super-resolution."""

import os as _os

__version__ = "0.1.0"

# OpenMP threads that wait for work sleep instead of spinning. On a desktop the other cores are
# busy with other programs; spinning threads then fight them and each other. Measured on 2 cores
# with another process busy (a 2-block SRResNet on 32 px tiles): 2 threads took 3.19 s spinning and
# 2.01 s passive (1 thread: 2.19 s); SRResNet 16x64 on a 128 px tile 1.28 s vs 1.06 s. Must be set
# before torch starts its OpenMP runtime; a value the user set is kept.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
