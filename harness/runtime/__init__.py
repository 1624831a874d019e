"""The runtime room: one run, end to end.

    run       load the plugins, cluster up, db setup, the generator phases, heal, collect
              logs, tear down, analyse (results.json), render the report
    runner    worker threads: generator -> client / nemesis -> history.jsonl
    analysis  the stats checker every run adds, op counts
    live      the display while a run goes

May import the model (harness/*.py), harness.control and harness.report; plugins (dbs,
workloads, nemeses, checkers) only through harness.registry, never by module.
"""
