"""harness.options: the one typed lookup and the declarations checked at load time."""
from __future__ import annotations

import pytest

from harness.api import describe_options
from harness.errors import ConfigError
from harness.options import (
    Opt,
    OptEnv,
    between,
    option,
    positive,
    validate_options,
)

DECLARED = [
    Opt("lease_ms", int, 10_000, "the lease", check=positive),
    Opt("targets", list, None, "which nodes", prefix="pause",
        check=lambda v, env: None if set(v) <= set(env.nodes) else "nodes of this test"),
    Opt("clock", list, None, "modes", choices=("bump", "drift"), aliases=("clock_modes",)),
    Opt("loss", float, 0.3, "drop probability", check=between(0, 1), prefix="packet"),
    Opt("verbose", bool, False, "say more"),
]
ENV = OptEnv(nodes=("n1", "n2", "n3"))


def test_typed_lookup():
    assert option({"keys": "8"}, "keys", 4) == 8
    assert option({"pause_targets": "all", "targets": "one"}, "targets", "x",
                  prefix="pause") == "all"
    with pytest.raises(ConfigError, match="option keys='many' is not an int"):
        option({"keys": "many"}, "keys", 4)


def test_names_help_and_description():
    assert DECLARED[1].names() == ("pause_targets", "targets")
    assert DECLARED[2].names() == ("clock", "clock_modes")
    assert DECLARED[0].describe() == "lease_ms (default 10000): the lease"


@pytest.mark.parametrize("given", [
    {"lease_ms": 5}, {"lease_ms": "5"}, {"pause_targets": "n1,n2"}, {"targets": ["n3"]},
    {"clock": "bump,drift"}, {"clock_modes": ["drift"]}, {"packet_loss": "0.5"},
    {"loss": 1}, {"verbose": "yes"}, {},
])
def test_good_values_pass(given):
    validate_options(given, DECLARED, env=ENV)


@pytest.mark.parametrize("given,says", [
    ({"lease_ms": -1}, "option lease_ms=-1 is not allowed: give a number > 0"),
    ({"lease_ms": 1.5}, "option lease_ms=1.5 is not allowed: give an int"),
    ({"lease_ms": None}, "option lease_ms=null is not allowed: give an int"),
    ({"pause_targets": "n9"}, "option pause_targets='n9' is not allowed: give nodes of this "
                              "test"),
    ({"clock": "bumpp"}, "option clock='bumpp' is not allowed: give one or more of bump, drift"),
    ({"packet_loss": 5}, "option packet_loss=5 is not allowed: give a number from 0 to 1"),
    ({"verbose": "perhaps"}, "option verbose='perhaps' is not allowed: give a boolean"),
    ({"lease": 5}, "unknown option 'lease'; did you mean 'lease_ms'?"),
    ({"zzz": 5}, "unknown option 'zzz'; the options are: clock, clock_modes, lease_ms, loss"),
])
def test_bad_values_and_unknown_keys_are_one_line(given, says):
    with pytest.raises(ConfigError) as e:
        validate_options(given, DECLARED, env=ENV)
    assert str(e.value).startswith(says) and "\n" not in str(e.value)


def test_not_strict_lets_unknown_keys_through_but_checks_known_ones():
    validate_options({"zzz": 5}, DECLARED, strict=False)
    validate_options({"zzz": 5}, DECLARED, also_known={"zzz"})
    with pytest.raises(ConfigError):
        validate_options({"lease_ms": 0}, DECLARED, strict=False)


def test_a_value_must_please_every_plugin_that_reads_it():
    both = [Opt("port", int, 7000, "db port", check=positive),
            Opt("port", int, 7000, "probe port", check=between(1000, 2000))]
    validate_options({"port": 1500}, both)
    with pytest.raises(ConfigError, match="from 1000 to 2000"):
        validate_options({"port": 7000}, both)


def test_describe_options_of_plugins_and_packages():
    from harness.api import Package

    class Declares:
        def declared_options(self):
            return DECLARED[:1]

    assert describe_options(Declares()) == DECLARED[:1]
    assert describe_options(object()) is None
    assert describe_options(Package("p", Declares(), None, None)) == DECLARED[:1]
