"""Runs on a node (its python3, stdlib only, not under libfaketime): write the libfaketime rc
line that makes the db process read a clock offset of WANT seconds from now on, at RATE.

    python3 -c "$(cat set_rc.py)" RC_FILE WANT RATE
    -> {"line": "+12.500000 x1", "back": "+12.500000 x1", "pid": 4242, "now": 1767.2}

The db process is the one whose environment holds FAKETIME_TIMESTAMP_FILE=RC_FILE (the oldest
if several). libfaketime reports start + off + (t - start) * rate, where start is when that
process began, so off = WANT - (now - start) * (RATE - 1). The write is atomic (temp file,
then rename); "back" is the file read back, "pid" the db process (null if none runs).
"""
import json
import os
import sys
import time


def db_process(rc: str) -> tuple[float | None, int | None]:
    """(seconds since boot when the db process started, its pid), or (None, None)."""
    key = ("FAKETIME_TIMESTAMP_FILE=" + rc).encode()
    hz = os.sysconf("SC_CLK_TCK")
    start: float | None = None
    pid: int | None = None
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/environ", "rb") as f:
                if key not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{p}/stat") as f:
                ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        except (OSError, ValueError, IndexError):
            continue
        since_boot = ticks / hz
        if start is None or since_boot < start:
            start, pid = since_boot, int(p)
    return start, pid


def main(rc: str, want: float, rate: float) -> None:
    since_boot, pid = db_process(rc)
    now = time.time()
    start = None
    if since_boot is not None:
        start = now - (time.clock_gettime(time.CLOCK_BOOTTIME) - since_boot)
    off = want if start is None or rate == 1 else want - (now - start) * (rate - 1)
    line = f"{off:+.6f} x{rate:g}"
    os.makedirs(os.path.dirname(rc), exist_ok=True)
    tmp = rc + ".tmp"
    with open(tmp, "w") as f:
        f.write(line + "\n")
    os.replace(tmp, rc)
    with open(rc) as f:
        back = f.read().strip()
    print(json.dumps({"line": line, "back": back, "pid": pid, "now": now}))


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]))
