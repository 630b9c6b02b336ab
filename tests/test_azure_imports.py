"""vhdcore.azure loads the Azure SDK on first use; first uses from several threads at once must not deadlock.

The provider runs calls concurrently (a container's and a disk's refresh): before the import lock, one run in
about fifteen failed with _DeadlockError on azure.core.exceptions. Each attempt is a fresh interpreter,
since only a first import can race.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RACE = """
import threading
import vhdcore.azure as azure
start, errors = threading.Barrier(3), []
def use(name):
    start.wait()
    try:
        getattr(azure, name)
    except Exception as exc:
        errors.append(repr(exc))
names = ("inspect_blank_vhd", "container_exists", "create_container")
threads = [threading.Thread(target=use, args=(name,)) for name in names]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(errors)
"""


def test_first_uses_from_several_threads_import_the_sdk_once_without_deadlock() -> None:
    for _ in range(5):
        run = subprocess.run([sys.executable, "-c", RACE], capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert (run.returncode, run.stdout.strip()) == (0, "[]"), run.stdout + run.stderr
