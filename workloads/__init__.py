"""Workloads: for one kind of test (register, set, counter, lost-update, bank, unique-ids),
the client that performs its ops, the generators of those ops, and the checkers of the
history they leave (``checkers(ctx)``: a dict by name; the runtime adds "stats").

A workload reaches the db only through ``ctx.db``: a db that speaks key-value implements
harness.api.HasKV, and ``workloads.kv`` asks it for a client (harness.api.KV, plus KVIncr,
KVAppend or KVAdd where a workload needs them) and maps its StoreErrors to fail or info.

May import: the model (harness/*.py top level), harness.control and checkers. Never a db
(dbs), the runtime, the report, the app or nemeses.
"""
