"""The systems under test the harness can install: one package per db (``dbs.kvstore``, our
own store; the server code it deploys lives in docker/kvstore, not here).

A db plugin implements harness.api.DB and whatever optional capabilities it has (HasModes:
its modes, each with its promise and expected verdicts; HasKV: the client workloads use;
Killable, Pausable, HasLogFiles, HasPrimaries). It is registered under the entry-point group
``splitbrain.dbs``.

May import: the model (harness/*.py top level) and harness.control. Never the runtime, the
report, the app, checkers, nemeses or workloads (workloads reach a db through ``ctx.db``).
"""
