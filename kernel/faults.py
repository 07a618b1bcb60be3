"""A fault-injection point for the crash tests (tests/reliability/test_crash.py), nothing else.

``pause_point(name)`` does nothing unless the environment variable ``CITYGOV_FAULT_PAUSE`` names this point:
then it writes ``citygov-fault-pause: <name>`` to standard error and sleeps, so that a test can SIGKILL the
process at a known moment (e.g. after every row of an import is flushed into the open transaction, before its
COMMIT). Production never sets the variable; the cost is one dictionary lookup per call. Points in use:

- ``registry.library_import.before_commit``
- ``standards.publish.before_commit``
- ``certify.issue.before_commit``
- ``opendata.desensitize.before_rename`` (the output is complete in its temporary file)
"""

from __future__ import annotations

import os
import sys
import time

ENV = "CITYGOV_FAULT_PAUSE"


def pause_point(name: str) -> None:
    if os.environ.get(ENV) != name:
        return
    sys.stderr.write(f"citygov-fault-pause: {name}\n")
    sys.stderr.flush()
    time.sleep(3600)
