#!/usr/bin/env python
"""Run the benchmark suite from a checkout and keep the JSON under benchmarks/results/.

Same as ``ree bench``; the suite itself lives in ``reasoning_economics.bench`` so that an
installed package can run it too. Examples::

    python benchmarks/run.py --quick
    python benchmarks/run.py --only env --only websocket -o benchmarks/results/env-ws.json
"""

from __future__ import annotations

import sys

from reasoning_economics.cli import app

if __name__ == "__main__":
    app(["bench", *sys.argv[1:]])
