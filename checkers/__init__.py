"""History checkers.

Linearizability: ``checkers.linearizable.check_history`` checks a history key by key
(``checkers.check.check_file`` reads a file first: ``checkers.formats``, our jsonl, Jepsen's
EDN and log). Models live in ``checkers.models``; a key is decided by the zone checker
(``checkers.zones``, registers with unique written values) or the search
(``checkers.search``), and explained by ``checkers.explain``.

The other checkers, each ``check(test, ops) -> {"valid": ...}``: ``checkers.lost_update``,
``checkers.counter``, ``checkers.sets`` (set, set-full), ``checkers.unique_ids``,
``checkers.bank``, ``checkers.exceptions``; ``checkers.common.Compose`` runs several as one.
"""
