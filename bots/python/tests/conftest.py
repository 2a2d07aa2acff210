"""The bundled Python bots' native tests import the SDK from the repository's sdk/python."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "sdk" / "python"))
