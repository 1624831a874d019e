"""History checkers. ``checkers.linearizable.check_history`` checks linearizability key by
key; ``checkers.check.check_file`` reads a history file first (``checkers.formats``: our
jsonl, Jepsen's EDN and log). Models live in ``checkers.models``, the search in
``checkers.search``."""
