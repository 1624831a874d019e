"""Runs on a node (its python3, stdlib only): does traffic from here to HOST:PORT stop?

    python3 -c "$(cat probe.py)" HOST PORT TIMEOUT_S

Exit 0 when the connection times out or the network is unreachable (traffic is stopped),
3 when it connects and 4 when it is refused (the packets still arrive).
"""
import socket
import sys


def main(host: str, port: int, timeout: float) -> int:
    s = socket.socket()
    s.settimeout(timeout)
    try:
        s.connect((host, port))
    except TimeoutError:
        return 0
    except ConnectionRefusedError:
        return 4
    except OSError as e:
        print(e)
        return 0
    return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
