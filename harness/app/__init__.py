"""The applications room: what a user runs.

``cli`` is the ``splitbrain`` command, ``campaign`` runs db modes x workloads x nemeses x
seeds (modes and their expected verdicts read from the db plugin), ``serve`` browses the
store over HTTP. Imports: anything in harness (model, runtime, control, report); plugins
(dbs, workloads, nemeses) only through harness.registry; ``splitbrain check`` calls
checkers.check, the stand-alone history checker. Nothing here names a particular db or
its modes beyond the default ``--db``.
"""
