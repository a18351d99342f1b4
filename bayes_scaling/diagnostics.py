"""Sampler diagnostics: divergences, R-hat, ESS, reported with concrete advice."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import pandas as pd

from bayes_scaling import _arviz

__all__ = ["Diagnostics", "SamplerWarning", "check_diagnostics", "RHAT_MAX", "ESS_PER_CHAIN"]

#: Largest acceptable rank-normalised split R-hat (Vehtari et al. 2021).
RHAT_MAX = 1.01
#: Smallest acceptable bulk/tail ESS per chain (Vehtari et al. 2021 suggest 100 per chain).
ESS_PER_CHAIN = 100


class SamplerWarning(UserWarning):
    """The sampler did not converge cleanly; the message says what to do."""


@dataclass(frozen=True)
class Diagnostics:
    """Convergence summary of a fit.

    Attributes
    ----------
    n_divergent : int
        Divergent transitions after warm-up.
    max_rhat : float
        Largest R-hat over all parameters.
    min_ess_bulk, min_ess_tail : float
        Smallest bulk and tail effective sample sizes.
    n_draws : int
        Total post-warm-up draws (all chains).
    table : pandas.DataFrame
        R-hat and ESS of every parameter element.
    problems : list[str]
        One message (with advice) per failed check; empty when all pass.
    """

    n_divergent: int
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    n_draws: int
    table: pd.DataFrame
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return not self.problems

    def to_frame(self) -> pd.DataFrame:
        """One-row summary table."""
        return pd.DataFrame(
            [
                {
                    "divergences": self.n_divergent,
                    "max_r_hat": self.max_rhat,
                    "min_ess_bulk": self.min_ess_bulk,
                    "min_ess_tail": self.min_ess_tail,
                    "draws": self.n_draws,
                    "ok": self.ok,
                }
            ]
        )

    def __str__(self) -> str:
        head = (
            f"divergences={self.n_divergent}  max R-hat={self.max_rhat:.3f}  "
            f"min ESS bulk/tail={self.min_ess_bulk:.0f}/{self.min_ess_tail:.0f}  "
            f"draws={self.n_draws}"
        )
        if self.ok:
            return head + "  (all checks passed)"
        return head + "\n" + "\n".join(f"  - {p}" for p in self.problems)


def _worst(table: pd.DataFrame, col: str, largest: bool, k: int = 3) -> str:
    s = table[col].dropna()
    s = s.nlargest(k) if largest else s.nsmallest(k)
    return ", ".join(f"{i} ({v:.3g})" for i, v in s.items())


def check_diagnostics(
    idata: _arviz.InferenceData, var_names: list[str], *, warn: bool = True
) -> Diagnostics:
    """Compute diagnostics and, if asked, emit one :class:`SamplerWarning` listing the problems.

    Parameters
    ----------
    idata : InferenceData
        A fit's posterior and sample stats.
    var_names : list of str
        Sampled parameters to check (deterministic transforms need not be included).
    warn : bool
        Emit a warning when a check fails.
    """
    chains, draws = _arviz.n_chains_draws(idata)
    table = _arviz.diagnostic_table(idata, var_names)
    n_div = _arviz.n_divergent(idata)
    max_rhat = float(table["r_hat"].max()) if chains > 1 else float("nan")
    ess_b = float(table["ess_bulk"].min())
    ess_t = float(table["ess_tail"].min())
    problems = []
    if n_div > 0:
        problems.append(
            f"{n_div} divergent transition(s) ({100 * n_div / (chains * draws):.1f}% of draws): "
            "NUTS could not follow the posterior's curvature, so intervals may be biased. Raise "
            "target_accept (0.95-0.99); if they persist, tighten the priors of the group-effect "
            "scales (*_sd_*) or of the floor log_E, or use a law with fewer parameters."
        )
    if chains < 2:
        problems.append("only one chain: R-hat cannot be computed; run at least 2 chains")
    elif not max_rhat <= RHAT_MAX:
        problems.append(
            f"R-hat up to {max_rhat:.3f} > {RHAT_MAX} ({_worst(table, 'r_hat', True)}): the "
            "chains disagree. Run longer (more warmup and draws) or more chains; persistent "
            "disagreement means a multimodal posterior (e.g. floor E traded against exponent), "
            "where a more informative prior or a simpler law helps."
        )
    need = ESS_PER_CHAIN * chains
    if not min(ess_b, ess_t) >= need:
        problems.append(
            f"low effective sample size (bulk {ess_b:.0f}, tail {ess_t:.0f}; want >= {need}) "
            f"for {_worst(table, 'ess_bulk', False)}: interval ends are noisy. Draw more "
            "samples (draws), or raise target_accept if divergences are also reported."
        )
    diag = Diagnostics(n_div, max_rhat, ess_b, ess_t, chains * draws, table, problems)
    if warn and problems:
        warnings.warn(
            "sampler diagnostics failed:\n" + "\n".join(f"  - {p}" for p in problems),
            SamplerWarning,
            stacklevel=3,
        )
    return diag
