"""History checkers: each reads a history (``list[Op]``) and returns a verdict with its
evidence as data. A room that imports only the model (harness.api, harness.history,
harness.faults, harness.verdicts, harness.errors, harness.options, harness.spec): never the
runtime, control, report or app, never a db.

    linearizable/  linearizability key by key: models, search, zones, index (per-key
                   histories, the entry builder), decide, explain, result (typed results),
                   checker; ``from checkers.linearizable import check_history,
                   LinearizableChecker``
    formats/       history readers: our jsonl, Jepsen's EDN and log (``load``, ``sniff``)
    check.py       ``splitbrain check``'s engine: ``check_file``, ``check_paths`` (one result
                   per file; a bad file is its own "unknown" result)
    values.py      Keyword, Symbol, Typed, FrozenMap: values compared as Clojure's ``=``
    common.py      what the other checkers share (times, fault windows, caps, Compose)
    lost_update, counter, sets (set, set-full), unique_ids, bank, exceptions
                   the other checkers, each ``check(test, ops) -> {"valid": ...}``
"""
