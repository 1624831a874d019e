"""splitbrain: Jepsen-style fault injection and history checking on Docker."""

__version__ = "0.1.0"
