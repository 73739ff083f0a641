"""Run a command and report its peak resident memory: ``python -m bench.peak CMD ...``.

The command's output passes through; its peak RSS goes to stderr's last line as
``peak_rss_kib=N``. Linux keeps a process's peak across ``exec``, so a command started straight
from a big process (the bench, 1 GiB after the searches) reports that process's size as its
own; started from this small one, it reports its own.
"""

from __future__ import annotations

import resource
import subprocess
import sys

if __name__ == "__main__":
    code = subprocess.call(sys.argv[1:])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"peak_rss_kib={peak}", file=sys.stderr)
    sys.exit(code)
