"""splitbrain: Jepsen-style fault injection and history checking on Docker.

The modules directly in this package are the model every room sees: api (the protocols and
the typed Context), history (Op and THE pairing), generators, spec, faults, verdicts,
options, errors, registry, store; testing holds the fakes a plugin author tests with. The
rooms above them: control/ (nodes), runtime/ (a run), report/ (rendering), app/ (the CLI and
the programs on top). The model imports none of them. ARCHITECTURE.md has the map.
"""

__version__ = "0.1.0"
