"""Runs on a node under libfaketime (the clock nemesis's self-test, with a scratch rc file):
prints the wall clock it reads and how long a sleep plus an Event wait of 0.1 s took by the
monotonic clock, which libfaketime must leave real.

    python3 -c "$(cat selftest.py)"   ->   "1767225600.123456 0.101234"
"""
import threading
import time


def main() -> None:
    t0 = time.monotonic()
    time.sleep(0.05)
    threading.Event().wait(0.05)
    print(f"{time.time():.6f} {time.monotonic() - t0:.6f}")


if __name__ == "__main__":
    main()
