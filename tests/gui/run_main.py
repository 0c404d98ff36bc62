"""``main.py`` with the ground-truth pipeline double in place of :mod:`app.pipeline`, so the
``--screenshot`` contract can be checked without trained weights.

    python tests/gui/run_main.py --screenshot out.png --quit-after 3
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.gui.doubles import GroundTruthPipeline  # noqa: E402

double = types.ModuleType("app.pipeline")
double.Pipeline = GroundTruthPipeline
sys.modules["app.pipeline"] = double

import main  # noqa: E402

sys.exit(main.main(sys.argv[1:]))
