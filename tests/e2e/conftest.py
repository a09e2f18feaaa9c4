"""pytest set-up of the end-to-end tests: the shared helpers in tests/support
(a real assayd process, where the build is) become importable."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
