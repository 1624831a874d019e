"""Clock faults with libfaketime, for the db process only (nemesis.py). What it runs on the
nodes is in node/: set_rc.py writes the rc file libfaketime reads, selftest.py checks
libfaketime works at prepare. Entry point ``clock`` = ``nemeses.clock:clock_package``.
"""
from nemeses.clock.nemesis import (
    RC_DIR,
    STROBE_MARK,
    ClockNemesis,
    clock_package,
    faketime_env,
    rc_line,
    rc_path,
)

__all__ = ["RC_DIR", "STROBE_MARK", "ClockNemesis", "clock_package", "faketime_env",
           "rc_line", "rc_path"]
