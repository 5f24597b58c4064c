"""`imurun run`'s dashboard mode: the window in the main thread, the BLE run in a worker."""

import json
import subprocess
import sys

# In a fresh interpreter (nothing imported by other tests): which modules are loaded when the
# BLE worker starts, with the window and the run itself stubbed out.
CHECK = """
import json, sys, threading
import imurun.ui.launch as launch
from imurun.live import run as live_run

seen = {}
start = threading.Thread.start

def spy(self):
    if self.name == "imurun-ble":
        seen.update({m: m in sys.modules for m in ("imurun.ui.dashboard", "pyqtgraph", "numba")})
    start(self)

class Run:
    async def run(self):
        return 0

    def stop(self):
        pass

    def recalibrate(self):
        pass

threading.Thread.start = spy
launch.run_live_dashboard = lambda *args, **kwargs: 0
print(json.dumps([live_run._with_dashboard(Run(), None, "dark"), seen]))
"""


def test_the_window_and_the_engine_are_imported_before_the_ble_thread_starts():
    """Python 3.11 can fail an import that two threads make at once: a live run with the dashboard
    ended at its start with KeyError: 'colorama' (pyqtgraph in the main thread, numba in the
    worker, both import it). Before they were imported first, none of these modules was loaded
    when the worker started."""
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    code, loaded = json.loads(done.stdout)
    assert code == 0
    assert loaded == {"imurun.ui.dashboard": True, "pyqtgraph": True, "numba": True}
