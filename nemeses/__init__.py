"""Fault injectors (nemeses), each a package of a nemesis, the generator that schedules its
faults and the final generator that heals them; registered under the entry-point group
``splitbrain.nemeses`` and called by the runtime as ``factory(interval=..., seed=...)``.

    common.py     Cycle (the start/stop schedule), Dispatcher (start-X/stop-X -> apply/heal,
                  timed, under the teardown Guard), on_nodes, node_script
    targets.py    which nodes a fault hits (option ``<kind>_targets`` / ``targets``)
    partition/    iptables partitions; grudges.py draws their shapes (networkx)
    clock/        libfaketime clock faults for the db process
    process.py    pause (SIGSTOP/SIGCONT) and kill (SIGKILL, restart) through the db
    packet.py     loss, bandwidth, netem delay/duplicate/reorder
    compose.py    the ``all`` package (harness.packages.compose_packages does the composing)
    noop.py       ``none``;  example_marker.py: README's worked example (not registered)

Scripts that run on the nodes are real files in a ``node/`` folder beside their nemesis (the
node's python3, stdlib only), shipped as package data and read with ``node_script``.

May import: the model (harness.api, history, generators, errors, options) and control
(harness.control.parallel, remote). Never dbs, the runtime, report or app: a nemesis reaches
the db only through ``ctx.db`` and the protocols (Pausable, Killable, HasPrimaries).
"""
