"""Speed: compile once, chains in parallel, many curves, vectorised prediction and decisions.

``python benchmarks/bench_speed.py [--parts chinchilla,userlaw,curves,predict] [--fast]``

Each configuration runs in a fresh Python process (``subprocess``), as a user would meet it:

* **chinchilla**: Epoch's 240 Chinchilla runs, Huber likelihood, 4 chains x 1000 warm-up x 1000
  draws, end to end (``ScalingLaw(...).fit`` and its checks): cold (empty compilation cache),
  warm (a second fit in the same process) and warm-cache (a new process with the cache filled),
  beside the least-squares peer (multi-start least squares + 200 bootstrap refits,
  :func:`bayes_scaling.fit_least_squares`) timed in the same process as the cold fit.
* **userlaw**: the Chinchilla law written by hand with ``@bs.law`` (same priors) against the
  built-in one, each in a fresh process with an empty cache: first fit (compiles) and second fit.
* **curves**: simulated saturating curves x 10 points, two crossed factors, 2 chains x 500 x 500,
  at 100, 300 and 1,000 curves: wall time, min bulk ESS, max R-hat, ESS per second, and the slope
  of log time against log curves.
* **predict**: a 30-curve fit; ``predict`` of 10,000 rows (time and peak RSS growth) and
  ``optimal_allocation`` for 10 budgets after a first call.

Writes ``benchmarks/results/bench_speed.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

CHINCHILLA = """
import json, time, resource
import numpy as np
import bayes_scaling as bs
def rss(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
runs = bs.load_dataset("chinchilla")
out = {}
def one(tag):
    t0 = time.perf_counter()
    fit = bs.ScalingLaw("chinchilla", likelihood="huber").fit(
        runs, x=["N", "D"], y="loss", chains=4, warmup=WARM, draws=DRAWS, seed=0, warn=False)
    rep = fit.check(warn=False)
    out[tag] = {"wall_s": time.perf_counter() - t0, "min_ess_bulk": rep.sampler.min_ess_bulk,
                "max_r_hat": rep.sampler.max_rhat, "divergences": rep.sampler.n_divergent,
                "chain_method": fit.meta["sampler"].get("chain_method", "")}
one(FIRST)
if SECOND:
    one(SECOND)
if PEER:
    t0 = time.perf_counter()
    bs.fit_least_squares(runs, ["N", "D"], "loss", law="chinchilla", n_starts=48, n_boot=200,
                         seed=0)
    out["least squares + 200 bootstrap"] = {"wall_s": time.perf_counter() - t0}
print("RESULT" + json.dumps(out, default=float))
"""

CURVES = """
import json, time
import numpy as np
import bayes_scaling as bs
rng = np.random.default_rng(0)
n_a = int(np.ceil(np.sqrt(NCURVES)))
n_b = int(np.ceil(NCURVES / n_a))
effects = {"a": tuple(rng.normal(0, 0.2, n_a)), "b": tuple(rng.normal(0, 0.1, n_b))}
sim = bs.simulate_saturating(effects, x=tuple(np.geomspace(1e6, 1e8, 10)), seed=0)
data = sim.runs
keys = data[["a", "b"]].drop_duplicates().iloc[:NCURVES]
data = data.merge(keys, on=["a", "b"])
t0 = time.perf_counter()
fit = bs.ScalingLaw("saturating", centring=CENTRING).fit(
    data, x="x", y="loss", groups=["a", "b"], chains=2, warmup=WARM, draws=DRAWS, seed=0,
    warn=False)
wall = time.perf_counter() - t0
rep = fit.check(warn=False)
print("RESULT" + json.dumps({"curves": int(len(keys)), "rows": int(len(data)), "wall_s": wall,
      "min_ess_bulk": rep.sampler.min_ess_bulk, "max_r_hat": rep.sampler.max_rhat,
      "divergences": rep.sampler.n_divergent,
      "ess_per_s": rep.sampler.min_ess_bulk / wall}, default=float))
"""

USERLAW = """
import json, time, sys
import bayes_scaling as bs
from bayes_scaling.laws import BUILTIN
runs = bs.load_dataset("chinchilla")
ref = BUILTIN["chinchilla"]
if WHICH == "user":  # the built-in's formula, written by hand
    @bs.law(inputs=("N", "D"), priors=dict(ref.priors), spread=dict(ref.spread))
    def my_chinchilla(N, D, E, A, alpha, B, beta):
        return E + A * N**-alpha + B * D**-beta
    law = my_chinchilla
elif WHICH == "user, written A / N ** alpha":  # the same law, divisions instead of powers
    @bs.law(inputs=("N", "D"), priors=dict(ref.priors), spread=dict(ref.spread))
    def my_chinchilla(N, D, E, A, alpha, B, beta):
        return E + A / N ** alpha + B / D ** beta
    law = my_chinchilla
else:
    law = "chinchilla"
t0 = time.perf_counter()
fit = bs.ScalingLaw(law).fit(runs, x=["N", "D"], y="loss", chains=4, warmup=WARM, draws=DRAWS,
                             seed=0, warn=False)
wall = time.perf_counter() - t0
t0 = time.perf_counter()
fit2 = bs.ScalingLaw(law).fit(runs, x=["N", "D"], y="loss", chains=4, warmup=WARM, draws=DRAWS,
                              seed=1, warn=False)
again = time.perf_counter() - t0
print("RESULT" + json.dumps({"law": WHICH, "first_s": wall, "second_s": again,
      "alpha_median": float(fit.draws("alpha").mean())}))
"""

PREDICT = """
import json, time, resource
import numpy as np, pandas as pd
import bayes_scaling as bs
def rss(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
rng = np.random.default_rng(0)
effects = {"a": tuple(rng.normal(0, 0.2, 6)), "b": tuple(rng.normal(0, 0.1, 5))}
sim = bs.simulate_saturating(effects, seed=0)
fit = bs.ScalingLaw("saturating").fit(sim.runs, x="x", y="loss", groups=["a", "b"], chains=2,
                                      warmup=300, draws=500, seed=0, warn=False)
keys = sim.runs[["a", "b"]].drop_duplicates()
at = keys.sample(10000, replace=True, random_state=0).reset_index(drop=True)
at["x"] = np.geomspace(1e6, 1e10, len(at))
fit.predict(at.iloc[:100])  # compile the small bucket
r0 = rss(); t0 = time.perf_counter()
p = fit.predict(at)  # first request of this size: compiles the 2,048-row block program
t_first = time.perf_counter() - t0; mem_first = rss() - r0
r0 = rss(); t0 = time.perf_counter()
p = fit.predict(at, seed=1)
t_pred = time.perf_counter() - t0; mem = rss() - r0
fit_t = bs.ScalingLaw("saturating", likelihood="student_t").fit(
    sim.runs, x="x", y="loss", groups=["a", "b"], chains=2, warmup=300, draws=500, seed=0,
    warn=False)
fit_t.predict(at)
t0 = time.perf_counter(); fit_t.predict(at, seed=1); t_pred_t = time.perf_counter() - t0
# the row noise alone, 2,048 rows x 1,000 draws of Student-t (df 3): one key per row and a
# vector of draws (this version) against one key per row and draw with jax.random.t (before)
import jax, jax.numpy as jnp
from bayes_scaling.model import row_noise_streams, student_t_standard
h = jnp.arange(2048, dtype=jnp.uint32); base = jax.random.PRNGKey(0)
@jax.jit
def now(base, h):
    s = row_noise_streams(fit_t.structure, base, h, 1000)
    return student_t_standard(s["u"], s["v"], 3.0)
@jax.jit
def before(base, h):
    keys = jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.arange(1000))
    return jax.vmap(lambda k: jax.vmap(
        lambda r: jax.random.t(jax.random.fold_in(k, r), 3.0))(h))(keys)
def clock(f):
    jax.block_until_ready(f(base, h)); t0 = time.perf_counter()
    jax.block_until_ready(f(base, h)); return time.perf_counter() - t0
noise_now, noise_before = clock(now), clock(before)
ch = bs.ScalingLaw("chinchilla").fit(bs.load_dataset("chinchilla"), x=["N", "D"], y="loss",
                                     chains=2, warmup=300, draws=500, seed=0, warn=False)
budgets = np.geomspace(1e21, 1e25, 10)
t0 = time.perf_counter(); bs.optimal_allocation(ch, budgets); first = time.perf_counter() - t0
t0 = time.perf_counter(); bs.optimal_allocation(ch, budgets); again = time.perf_counter() - t0
print("RESULT" + json.dumps({
      "predict_rows": len(at), "predict_s": t_pred, "predict_rss_growth_mb": mem,
      "predict_first_s": t_first, "predict_first_rss_growth_mb": mem_first,
      "predict_student_t_s": t_pred_t, "t_noise_2048_rows_s": noise_now,
      "t_noise_2048_rows_before_s": noise_before, "draws": 1000,
      "optimal_10_budgets_first_s": first, "optimal_10_budgets_again_s": again}, default=float))
"""


def run(code: str, env: dict, **subs: object) -> dict:
    for k, v in subs.items():
        code = code.replace(k, repr(v))
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                       text=True, env={**os.environ, **env}, cwd=ROOT)
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT")]
    if r.returncode or not line:
        raise RuntimeError(f"configuration failed:\n{r.stderr[-3000:]}")
    return json.loads(line[-1][6:])


PARTS = "chinchilla,userlaw,curves,predict"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default=PARTS)
    ap.add_argument("--fast", action="store_true")
    ap.add_argument("--curves", default=None, help="curve counts of part curves, e.g. 100,300")
    ap.add_argument("--centring", default="auto", help="ScalingLaw(centring=...) of part curves")
    a = ap.parse_args()
    report: dict = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    md = ["# Speed (2-core CPU unless stated)", "", "`python benchmarks/bench_speed.py`", ""]
    warm, draws = (300, 300) if a.fast else (1000, 1000)
    if "chinchilla" in a.parts:
        with tempfile.TemporaryDirectory() as cache:
            env = {"BAYES_SCALING_CACHE_DIR": cache}
            cold = run(CHINCHILLA, env, WARM=warm, DRAWS=draws, FIRST="cold (empty cache)",
                       SECOND="warm (same process)", PEER=True)
            again = run(CHINCHILLA, env, WARM=warm, DRAWS=draws, FIRST="warm cache (new process)",
                        SECOND="", PEER=False)
        res = {**cold, **again}
        report["chinchilla"] = res
        peer = res["least squares + 200 bootstrap"]["wall_s"]
        md += [f"## Chinchilla, 240 runs, Huber, 4 chains x {warm} x {draws}", "",
               "| configuration | wall s | min bulk ESS | max R-hat | divergences | x peer |",
               "|---|---|---|---|---|---|"]
        for k, v in res.items():
            md.append(f"| {k} | {v['wall_s']:.1f} | {v.get('min_ess_bulk', float('nan')):.0f} | "
                      f"{v.get('max_r_hat', float('nan')):.3f} | {v.get('divergences', '')} | "
                      f"{v['wall_s'] / peer:.1f} |")
        md.append("")
    if "curves" in a.parts:
        sizes = (100, 300) if a.fast else (100, 300, 1000)
        if a.curves:
            sizes = tuple(int(v) for v in a.curves.split(","))
        rows = [run(CURVES, {}, NCURVES=n, WARM=500, DRAWS=500, CENTRING=a.centring)
                for n in sizes]
        import numpy as np

        logs = (np.log([r["curves"] for r in rows]), np.log([r["wall_s"] for r in rows]))
        slope = float(np.polyfit(*logs, 1)[0]) if len(rows) > 1 else float("nan")
        report["curves"] = {"rows": rows, "log_time_slope": slope}
        md += ["## Many curves (saturating, 10 points each, 2 crossed factors, 2 x 500 x 500, "
               f"centring={a.centring!r}, default drift update)", "",
               "| curves | wall s | min bulk ESS | max R-hat | divergences | ESS/s |",
               "|---|---|---|---|---|---|"]
        md += [f"| {r['curves']} | {r['wall_s']:.1f} | {r['min_ess_bulk']:.0f} | "
               f"{r['max_r_hat']:.3f} | {r['divergences']} | {r['ess_per_s']:.1f} |" for r in rows]
        md += ["", f"slope of log time on log curves: {slope:.2f} (1 = linear)", ""]
    if "userlaw" in a.parts:
        res = []
        for which in ("builtin", "user", "user, written A / N ** alpha"):
            with tempfile.TemporaryDirectory() as cache:
                res.append(run(USERLAW, {"BAYES_SCALING_CACHE_DIR": cache}, WHICH=which,
                               WARM=warm, DRAWS=draws))
        report["userlaw"] = res
        ratio = res[1]["second_s"] / res[0]["second_s"]
        md += [f"## A user law vs the same built-in law (Chinchilla, 240 runs, 4 x {warm} x "
               f"{draws}, fresh process and empty cache each)", "",
               "| law | first fit s (compiles) | second fit s | mean alpha |", "|---|---|---|---|"]
        md += [f"| {r['law']} | {r['first_s']:.1f} | {r['second_s']:.1f} | "
               f"{r['alpha_median']:.4f} |" for r in res]
        slow = res[2]["second_s"] / res[0]["second_s"]
        md += ["", f"user / built-in, second fit: {ratio:.2f} (same formula); {slow:.2f} with "
               "divisions (same posterior; the cost is the formula's, not the toolkit's)", ""]
    if "predict" in a.parts:
        p = run(PREDICT, {})
        report["predict"] = p
        md += ["## Prediction and decisions", "",
               f"- `predict`, {p['predict_rows']} rows x {p['draws']} draws: "
               f"{p['predict_s']:.2f} s, peak RSS growth {p['predict_rss_growth_mb']:.0f} MB "
               f"(first request of this size, compiling its block program: "
               f"{p['predict_first_s']:.2f} s, {p['predict_first_rss_growth_mb']:.0f} MB)",
               f"- same with a Student-t likelihood: {p['predict_student_t_s']:.2f} s; its row "
               f"noise alone (2,048 rows x 1,000 draws): {p['t_noise_2048_rows_s']:.3f} s, "
               f"against {p['t_noise_2048_rows_before_s']:.2f} s for one key per row and draw "
               "with `jax.random.t` (the sampler before stop 24), same process",
               "- `optimal_allocation`, 10 budgets: first call "
               f"{p['optimal_10_budgets_first_s']:.2f} s, again "
               f"{p['optimal_10_budgets_again_s']:.2f} s", ""]
    RESULTS.mkdir(parents=True, exist_ok=True)
    # a subset of the parts writes its own files, so it does not overwrite the others' numbers
    stem = "bench_speed" if a.parts == PARTS else "bench_speed_" + a.parts.replace(",", "_")
    stem += "_fast" if a.fast else ""
    stem += "" if a.centring == "auto" else "_" + a.centring.replace("-", "")
    stem += "" if not a.curves else "_n" + a.curves.replace(",", "_")
    md[2] = f"`python benchmarks/bench_speed.py{'' if a.parts == PARTS else ' --parts ' + a.parts}"
    md[2] += " --fast" if a.fast else ""
    md[2] += f" --centring {a.centring}" if a.centring != "auto" else ""
    md[2] += f" --curves {a.curves}`" if a.curves else "`"
    (RESULTS / f"{stem}.json").write_text(json.dumps(report, indent=1, default=float))
    (RESULTS / f"{stem}.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
