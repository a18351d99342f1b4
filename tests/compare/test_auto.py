"""law="auto": candidates NUTS struggled with are resampled, badly failed ones set aside."""

from dataclasses import dataclass, field, replace
from typing import Any

import pytest

import bayes_scaling.compare.auto as auto
import bayes_scaling.compare.forms as forms
import bayes_scaling.fit as fit_module
from bayes_scaling import ScalingLaw, auto_note
from bayes_scaling.inference import SamplerSettings


@dataclass(frozen=True)
class Diag:
    n_divergent: int
    max_rhat: float
    n_draws: int = 4000


@dataclass(frozen=True)
class FakeFit:
    law: str
    target_accept: float
    diagnostics: Diag
    meta: dict = field(default_factory=dict)

    def with_meta(self, key: str, value: Any) -> "FakeFit":
        return replace(self, meta={**self.meta, key: value})


def _run_auto(monkeypatch, outcomes: dict, target_accept: float = 0.9) -> tuple[Any, list]:
    """fit_auto with sampling replaced by ``outcomes[(law, target_accept)] -> Diag``."""
    calls = []

    def fake_sample(spec, law, run, structure, cond, settings, progress, cache=None):
        key = (spec.law, settings["target_accept"])
        calls.append(key)
        return FakeFit(spec.law, settings["target_accept"], outcomes[key])

    monkeypatch.setattr(fit_module, "sample_fit", fake_sample)
    monkeypatch.setattr(ScalingLaw, "_prepare", lambda self, *a: (None, None, None, None))
    monkeypatch.setattr(forms, "combine", lambda fits: ("mixture", dict(fits)))
    settings = SamplerSettings(2, 100, 100, 0, target_accept, 10)
    out = auto.fit_auto(ScalingLaw(), None, "x", "y", None, run=None, settings=settings,
                        progress=False, strict=False, warn=False)
    return out, calls


def test_divergent_candidate_is_resampled_at_a_higher_target_accept(monkeypatch):
    ok = Diag(0, 1.001)
    out, calls = _run_auto(monkeypatch, {
        ("power", 0.9): ok, ("saturating", 0.9): ok,
        ("m4", 0.9): Diag(5, 1.004), ("m4", auto.RETRY_TARGET_ACCEPT): ok,
    })
    assert calls == [("power", 0.9), ("saturating", 0.9), ("m4", 0.9),
                     ("m4", auto.RETRY_TARGET_ACCEPT)]
    kind, fits = out
    assert kind == "mixture" and list(fits) == ["power", "saturating", "m4"]
    assert fits["m4"].target_accept == auto.RETRY_TARGET_ACCEPT  # the second attempt is kept
    notes = fits["power"].meta["auto"]["notes"]
    assert len(notes) == 1 and "m4: 5 divergent" in notes[0] and "(0 after)" in notes[0]


def test_divergences_left_after_the_first_retry_get_one_more(monkeypatch):
    ok = Diag(0, 1.001)
    out, calls = _run_auto(monkeypatch, {
        ("power", 0.9): ok, ("saturating", 0.9): ok,
        ("m4", 0.9): Diag(11, 1.004), ("m4", 0.97): Diag(5, 1.003), ("m4", 0.99): ok,
    })
    assert calls[-3:] == [("m4", 0.9), ("m4", 0.97), ("m4", 0.99)]
    _, fits = out
    assert fits["m4"].target_accept == 0.99
    notes = fits["m4"].meta["auto"]["notes"]
    assert notes == ["m4: 11 divergent transition(s) at target_accept 0.9, resampled at 0.97 "
                     "(5 after)",
                     "m4: 5 divergent transition(s) at target_accept 0.97, resampled at 0.99 "
                     "(0 after)"]


def test_a_user_setting_between_the_rungs_still_gets_the_higher_one(monkeypatch):
    ok = Diag(0, 1.001)
    out, calls = _run_auto(monkeypatch, {
        ("power", 0.98): ok, ("saturating", 0.98): ok,
        ("m4", 0.98): Diag(7, 1.004), ("m4", 0.99): ok,
    }, target_accept=0.98)
    assert calls == [("power", 0.98), ("saturating", 0.98), ("m4", 0.98), ("m4", 0.99)]
    _, fits = out
    assert fits["m4"].target_accept == 0.99
    # nothing above 0.99 to try: a user already there gets no retry
    _, calls = _run_auto(monkeypatch, {("power", 0.99): ok, ("saturating", 0.99): ok,
                                       ("m4", 0.99): Diag(7, 1.004)}, target_accept=0.99)
    assert calls == [("power", 0.99), ("saturating", 0.99), ("m4", 0.99)]


def test_a_retry_that_makes_things_worse_is_not_kept(monkeypatch):
    ok = Diag(0, 1.001, 600)
    out, calls = _run_auto(monkeypatch, {
        ("power", 0.9): ok, ("m4", 0.9): ok,
        ("saturating", 0.9): Diag(2, 1.004, 600), ("saturating", 0.97): Diag(9, 1.004, 600),
    })
    # 9 of 600 is over the set-aside threshold: no third attempt, and the first one is kept
    assert ("saturating", 0.99) not in calls
    _, fits = out
    assert list(fits) == ["power", "saturating", "m4"]
    assert fits["saturating"].target_accept == 0.9
    notes = fits["saturating"].meta["auto"]["notes"]
    assert "saturating: kept the attempt with 2 divergent" in notes[-1]
    assert not any("set aside" in n for n in notes)


def test_candidate_that_still_fails_is_set_aside_and_said_so(monkeypatch):
    ok = Diag(0, 1.001)
    bad = Diag(900, 1.5)  # hopeless: no retry
    still = Diag(45, 1.02)  # 1.1% divergent after the retry
    out, calls = _run_auto(monkeypatch, {
        ("power", 0.9): Diag(50, 1.0), ("power", 0.97): still,
        ("saturating", 0.9): ok, ("m4", 0.9): bad,
    })
    assert ("m4", auto.RETRY_TARGET_ACCEPT) not in calls
    # 1.1% divergent after the first retry: smaller steps did not help, no third attempt
    assert [c for c in calls if c[0] == "power"] == [("power", 0.9), ("power", 0.97)]
    assert isinstance(out, FakeFit) and out.law == "saturating"  # the one usable law
    lines = auto_note(out)
    assert any(ln.startswith("m4: set aside (900 divergent") for ln in lines)
    assert any(ln.startswith("power: set aside (45 divergent") for ln in lines)
    assert any(ln.startswith("power: 50 divergent") and "(45 after)" in ln for ln in lines)
    assert lines[-1] == "only saturating was kept of ['power', 'saturating', 'm4']"


def test_nothing_is_set_aside_when_every_candidate_fails(monkeypatch):
    bad = Diag(0, 1.3)
    out, _ = _run_auto(monkeypatch, {("power", 0.9): bad, ("saturating", 0.9): bad,
                                     ("m4", 0.9): bad})
    kind, fits = out
    assert list(fits) == ["power", "saturating", "m4"]  # the checks report them as usual
    assert auto_note(fits["m4"]) == []


@pytest.mark.parametrize(("n_div", "rhat", "usable"), [
    (0, 1.0, True), (40, 1.0, True), (41, 1.0, False), (0, 1.1, True), (0, 1.101, False),
])
def test_set_aside_thresholds(n_div, rhat, usable):
    assert (auto._failure(Diag(n_div, rhat)) is None) is usable
