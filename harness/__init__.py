"""splitbrain: Jepsen-style fault injection and history checking on Docker.

This package's top-level modules are the model every plugin sees (api, history, generators,
packages, spec, faults, verdicts, options, errors, registry, store): they import nothing but
each other. harness.testing adds fakes and conformance checks for plugin authors (model and
harness.control). The rooms above: control/ (nodes), runtime/ (a run), report/ (report.html),
app/ (the programs). ARCHITECTURE.md draws the walls; tests/unit/test_architecture.py
checks them.
"""

__version__ = "0.1.0"
