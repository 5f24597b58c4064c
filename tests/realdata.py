"""The real lower-back walking recordings with reference steps, bundled in tests/data/real (a copy
of shared/data/real, Apache-2.0, provenance in its README) so the suite runs on any checkout."""

from pathlib import Path

REAL = Path(__file__).resolve().parent / "data" / "real"
REAL_TRIALS = ("HA_001_Test5_Trial1", "HA_001_Test5_Trial2", "HA_001_Test11_Trial1")
