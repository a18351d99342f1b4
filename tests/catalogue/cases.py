"""The failure-case catalogue: malformed and adversarial inputs, each with its expected outcome.

A CLI case is ``(id, argv, files, code, match)``: ``files`` maps file names to their text
(written into the case's directory; ``{d}`` in argv is that directory, ``{fit}`` a fitted
FIT.nc, ``{runs}`` valid runs, ``{at}`` valid prediction rows); ``code`` is the expected exit
status and ``match`` a regular expression the single stderr line must contain (for code 0, one
the output must contain). ``kind`` says whether a case is a refusal or a correct handling
(the input is legal and must be answered right); the totals in the closing note count these.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CliCase:
    id: str
    argv: list[str]
    code: int
    match: str
    files: dict[str, str | bytes] = field(default_factory=dict)
    kind: str = "refusal"  # or "handled"


FIT = ["--chains", "1", "--warmup", "20", "--draws", "20"]
GOOD = "architecture,x,loss\na,1e6,3.0\na,1e7,2.5\na,1e8,2.2\nb,1e6,3.3\nb,1e7,2.8\nb,1e8,2.4\n"


def _fit(csv: str, *extra: str) -> list[str]:
    return [
        "fit",
        csv,
        "--x",
        "x",
        "--y",
        "loss",
        "--group",
        "architecture",
        *extra,
        "--out",
        "{d}/f.nc",
        *FIT,
    ]


def _runs(text: str) -> dict[str, str]:
    return {"r.csv": text}


CLI_CASES: list[CliCase] = [
    # ---------------------------------------------------------------- fit: CSV contents
    CliCase(
        "fit-missing-x",
        _fit("{d}/r.csv")[:3] + ["N"] + _fit("{d}/r.csv")[4:],
        2,
        "input column 'N' not found",
        _runs(GOOD),
    ),
    CliCase(
        "fit-misspelt-y",
        ["fit", "{d}/r.csv", "--x", "x", "--y", "los", "--out", "{d}/f.nc"],
        2,
        "metric column 'los' not found.*loss",
        _runs(GOOD),
    ),
    CliCase(
        "fit-missing-group",
        _fit("{d}/r.csv")[:7] + ["arch"] + _fit("{d}/r.csv")[8:],
        2,
        "group column 'arch' not found",
        _runs(GOOD),
    ),
    CliCase("fit-empty-file", _fit("{d}/r.csv"), 2, "r.csv.*empty", _runs("")),
    CliCase(
        "fit-header-only",
        _fit("{d}/r.csv"),
        2,
        "no rows|no data rows",
        _runs("architecture,x,loss\n"),
    ),
    CliCase(
        "fit-text-in-x",
        _fit("{d}/r.csv"),
        2,
        "input column 'x' must be numeric; found 'ten million' at line 3 of r.csv",
        _runs(GOOD.replace("a,1e7,2.5", "a,ten million,2.5")),
    ),
    CliCase(
        "fit-empty-y-cell",
        _fit("{d}/r.csv"),
        2,
        "metric column 'loss' has 1 empty value.*line 4 of r.csv",
        _runs(GOOD.replace("a,1e8,2.2", "a,1e8,")),
    ),
    CliCase(
        "fit-nan-y",
        _fit("{d}/r.csv"),
        2,
        "metric column 'loss' has 1 NaN/inf value.*line 4",
        _runs(GOOD.replace("a,1e8,2.2", "a,1e8,nan")),
    ),
    CliCase(
        "fit-inf-x",
        _fit("{d}/r.csv"),
        2,
        "input column 'x' has 1 NaN/inf value.*line 2 of r.csv",
        _runs(GOOD.replace("a,1e6,3.0", "a,inf,3.0")),
    ),
    CliCase(
        "fit-zero-x",
        _fit("{d}/r.csv"),
        2,
        "input column 'x' must be > 0.*line 2",
        _runs(GOOD.replace("a,1e6,3.0", "a,0,3.0")),
    ),
    CliCase(
        "fit-negative-y",
        _fit("{d}/r.csv"),
        2,
        "metric column 'loss' must be > 0.*line 5",
        _runs(GOOD.replace("b,1e6,3.3", "b,1e6,-3.3")),
    ),
    CliCase(
        "fit-empty-group-label",
        _fit("{d}/r.csv"),
        2,
        "group column 'architecture' has 1 missing label.*line 6 of r.csv",
        _runs(GOOD.replace("b,1e7,2.8", ",1e7,2.8")),
    ),
    CliCase(
        "fit-huge-x",
        _fit("{d}/r.csv"),
        2,
        "input column 'x' has 1 NaN/inf value.*line 2",
        _runs(GOOD.replace("a,1e6,3.0", "a,1e400,3.0")),
    ),
    CliCase(
        "fit-one-scale",
        _fit("{d}/r.csv", "--pooling", "none", "--law", "power"),
        2,
        "input column 'x' has the same value \\(1e\\+06\\) in every row",
        _runs("architecture,x,loss\na,1e6,3.0\na,1e6,2.9\nb,1e6,3.3\nb,1e6,3.2\n"),
    ),
    CliCase(
        "fit-one-point-group-no-pooling",
        _fit("{d}/r.csv", "--pooling", "none", "--law", "power"),
        2,
        "curve architecture=c has 1 point.*needs at least 2",
        _runs(GOOD + "c,1e6,3.1\n"),
    ),
    CliCase(
        "fit-duplicate-rows-strict",
        _fit("{d}/r.csv", "--strict"),
        2,
        "duplicate rows .* at lines 2, 3 of r.csv",
        _runs(GOOD.replace("a,1e6,3.0\n", "a,1e6,3.0\na,1e6,3.0\n")),
    ),
    CliCase(
        "fit-y-column-is-x",
        ["fit", "{d}/r.csv", "--x", "x", "--y", "x", "--out", "{d}/f.nc"],
        2,
        "column\\(s\\) \\['x'\\] given in more than one role",
        _runs(GOOD),
    ),
    CliCase(
        "fit-group-equals-x",
        _fit("{d}/r.csv")[:7] + ["x"] + _fit("{d}/r.csv")[8:],
        2,
        "column\\(s\\) \\['x'\\] given in more than one role",
        _runs(GOOD),
    ),
    CliCase(
        "fit-group-named-alpha",
        [
            "fit",
            "{d}/r.csv",
            "--x",
            "x",
            "--y",
            "loss",
            "--group",
            "alpha",
            "--law",
            "power",
            "--out",
            "{d}/f.nc",
        ],
        2,
        "column 'alpha' has the name of a parameter or input of law 'power'",
        _runs(GOOD.replace("architecture,", "alpha,")),
    ),
    CliCase(
        "fit-group-named-sigma",
        [
            "fit",
            "{d}/r.csv",
            "--x",
            "x",
            "--y",
            "loss",
            "--group",
            "sigma",
            "--law",
            "saturating",
            "--out",
            "{d}/f.nc",
        ],
        2,
        "column name\\(s\\) \\['sigma'\\] are reserved for model dimensions",
        _runs(GOOD.replace("architecture,", "sigma,")),
    ),
    CliCase(
        "fit-group-named-kind",
        [
            "fit",
            "{d}/r.csv",
            "--x",
            "x",
            "--y",
            "loss",
            "--group",
            "kind",
            "--law",
            "power",
            "--out",
            "{d}/f.nc",
        ],
        2,
        "column 'kind' has the name of a prediction output column",
        _runs(GOOD.replace("architecture,", "kind,")),
    ),
    CliCase(
        "fit-binary-csv",
        _fit("{d}/r.csv"),
        2,
        "r.csv.*(not a text|UTF-8|decode|CSV)",
        {"r.csv": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"},
    ),
    CliCase(
        "fit-ragged-csv",
        _fit("{d}/r.csv"),
        2,
        "r.csv.*(line|fields|columns)",
        _runs("architecture,x,loss\na,1e6,3.0\na,1e7,2.5,9,9\n"),
    ),
    # ---------------------------------------------------------------- fit: arguments
    CliCase("fit-unknown-law", _fit("{runs}", "--law", "cubic"), 2, "unknown law 'cubic'"),
    CliCase("fit-bad-pooling", _fit("{runs}", "--pooling", "some"), 2, "pooling must be one of"),
    CliCase(
        "fit-bad-likelihood",
        _fit("{runs}", "--likelihood", "cauchy"),
        2,
        "likelihood must be one of",
    ),
    CliCase(
        "fit-diverged-run-contaminated",
        _fit("{d}/r.csv", "--likelihood", "contaminated", "--law", "power"),
        0,
        "wrote",
        _runs(GOOD + "a,3e8,9.0\n"),
        kind="handled",
    ),
    CliCase(
        "fit-chains-zero",
        _fit("{runs}") + ["--chains", "0"],
        2,
        "chains must be between 1 and 64, got 0",
    ),
    CliCase(
        "fit-draws-negative",
        _fit("{runs}") + ["--draws", "-5"],
        2,
        "draws must be between 1 and .*, got -5",
    ),
    CliCase("fit-warmup-text", _fit("{runs}") + ["--warmup", "lots"], 2, "invalid int value"),
    CliCase(
        "fit-seed-overflow",
        _fit("{runs}") + ["--seed", "99999999999999999999999"],
        2,
        "seed must be .*(2\\*\\*32|4294967295|between)",
    ),
    CliCase(
        "fit-seed-negative", _fit("{runs}") + ["--seed", "-1"], 2, "seed must be .*(>= 0|between)"
    ),
    CliCase(
        "fit-target-accept-one",
        _fit("{runs}") + ["--target-accept", "1.0"],
        2,
        "target_accept must be in \\(0, 1\\), got 1.0",
    ),
    CliCase(
        "fit-prior-not-json",
        _fit("{runs}", "--prior", "log_alpha=oops"),
        2,
        "--prior log_alpha: value is not JSON",
    ),
    CliCase(
        "fit-prior-unknown-name",
        _fit(
            "{runs}", "--law", "power", "--prior", 'gamma={"dist": "Normal", "loc": 0, "scale": 1}'
        ),
        2,
        "unknown prior name 'gamma'; this model's priors are .*'alpha'",
    ),
    CliCase(
        "fit-prior-bad-dist",
        _fit("{runs}", "--law", "power", "--prior", 'alpha={"dist": "Cauchy2", "loc": 0}'),
        2,
        "unknown prior family 'Cauchy2'; expected one of",
    ),
    CliCase(
        "fit-out-is-input",
        ["fit", "{d}/r.nc", "--x", "x", "--y", "loss", "--out", "{d}/r.nc"],
        2,
        "--out .* is also an input file; choose another name",
        {"r.nc": GOOD},
    ),
    CliCase(
        "fit-out-csv-extension",
        ["fit", "{runs}", "--x", "x", "--y", "loss", "--out", "{d}/f.csv"],
        2,
        "must end in .nc",
    ),
    CliCase(
        "fit-out-missing-dir",
        ["fit", "{runs}", "--x", "x", "--y", "loss", "--out", "{d}/no/such/dir/f.nc"],
        2,
        "(directory|folder).*not exist",
    ),
    CliCase(
        "fit-user-law-missing-file",
        _fit("{runs}", "--law", "{d}/nolaw.py:mylaw"),
        2,
        "nolaw.py.*(does not exist|not found)",
    ),
    CliCase(
        "fit-user-law-syntax-error",
        _fit("{runs}", "--law", "{d}/bad.py:mylaw"),
        2,
        "bad.py.*(syntax|SyntaxError).*line 2",
        {"bad.py": "import math\ndef f(:\n"},
    ),
    CliCase(
        "fit-user-law-no-such-name",
        _fit("{runs}", "--law", "{d}/ok.py:other"),
        2,
        "ok.py' has no 'other'; laws in it: \\['mylaw'\\]",
        {
            "ok.py": (
                "import jax.numpy as jnp\nfrom bayes_scaling import law, Prior\n\n"
                "@law(inputs=['x'], priors={'a': Prior('Normal', 0, 1)})\n"
                "def mylaw(x, a):\n    return a - 0.1 * jnp.log(x)\n"
            )
        },
    ),
    CliCase(
        "fit-user-law-not-a-law",
        _fit("{runs}", "--law", "{d}/ok.py:helper"),
        2,
        "'helper' in .*ok.py' is a function, not a law: decorate it with @bayes_scaling.law",
        {"ok.py": "def helper(x):\n    return x\n"},
    ),
    # ---------------------------------------------------------------- predict
    CliCase(
        "predict-prob-above-one",
        ["predict", "{fit}", "{at}", "--prob", "1.5"],
        2,
        "--prob must be a probability",
    ),
    CliCase(
        "predict-prob-nan",
        ["predict", "{fit}", "{at}", "--prob", "nan"],
        2,
        "--prob must be a probability",
    ),
    CliCase(
        "predict-missing-fit", ["predict", "{d}/none.nc", "{at}"], 2, "fit file .* does not exist"
    ),
    CliCase(
        "predict-xlsx-out",
        ["predict", "{fit}", "{at}", "--out", "{d}/p.xlsx"],
        2,
        "must end in .csv or .json",
    ),
    CliCase(
        "predict-out-is-at",
        ["predict", "{fit}", "{d}/a.csv", "--out", "{d}/a.csv"],
        2,
        "--out .* is also an input file; choose another name",
        {"a.csv": "architecture,x\narchitecture0,1e9\n"},
    ),
    CliCase(
        "predict-missing-x",
        ["predict", "{fit}", "{d}/a.csv"],
        2,
        "input column 'x' not found",
        {"a.csv": "architecture,N\narchitecture0,1e9\n"},
    ),
    CliCase(
        "predict-output-column-clash",
        ["predict", "{fit}", "{d}/a.csv"],
        2,
        "(column|columns).*'lower'.*(clash|already|rename)",
        {"a.csv": "architecture,x,lower\narchitecture0,1e9,1\n"},
    ),
    CliCase(
        "predict-unit-mismatch",
        ["predict", "{fit}", "{d}/a.csv"],
        2,
        "decades (beyond|outside).*(unit|units)",
        {"a.csv": "architecture,x\narchitecture0,1e30\n"},
    ),
    CliCase(
        "predict-no-new-levels",
        ["predict", "{fit}", "{d}/a.csv", "--no-new-levels"],
        2,
        "'zzz'.*not (seen|fitted)",
        {"a.csv": "architecture,x\nzzz,1e9\n"},
    ),
    CliCase(
        "predict-new-level-announced",
        ["predict", "{fit}", "{d}/a.csv"],
        0,
        "population",
        {"a.csv": "architecture,x\nzzz,1e9\n"},
        kind="handled",
    ),
    CliCase(
        "predict-bom-semicolons",
        ["predict", "{fit}", "{d}/a.csv"],
        0,
        "architecture0",
        {"a.csv": "\ufeffarchitecture;x\narchitecture0;1e9\n"},
        kind="handled",
    ),
    CliCase(
        "predict-truncated-fit",
        ["predict", "{d}/t.nc", "{at}"],
        2,
        "cannot read .*t.nc.* as a saved fit",
        {"t.nc": "__TRUNCATED__"},
    ),
    CliCase(
        "predict-empty-fit", ["predict", "{d}/e.nc", "{at}"], 2, "e.nc.*is empty", {"e.nc": ""}
    ),
    CliCase(
        "predict-random-bytes-fit",
        ["predict", "{d}/x.nc", "{at}"],
        2,
        "cannot read .*x.nc.* as a saved fit",
        {"x.nc": bytes(range(256)) * 8},
    ),
    CliCase(
        "predict-foreign-netcdf",
        ["predict", "{d}/foreign.nc", "{at}"],
        2,
        "foreign.nc.*not (a fit written by|written by) bayes_scaling",
        {"foreign.nc": "__FOREIGN__"},
    ),
    CliCase(
        "predict-edited-fit",
        ["predict", "{d}/edited.nc", "{at}"],
        2,
        "edited.nc.*checksum",
        {"edited.nc": "__EDITED__"},
    ),
    CliCase(
        "predict-old-schema-fit",
        ["predict", "{d}/old.nc", "{d}/a.csv"],
        0,
        "architecture0",
        {"old.nc": "__V01__", "a.csv": "architecture,x\narchitecture0,1e9\n"},
        kind="handled",
    ),
    # ---------------------------------------------------------------- summary
    CliCase(
        "summary-prob-above-one",
        ["summary", "{fit}", "--prob", "1.5"],
        2,
        "--prob must be a probability",
    ),
    CliCase(
        "summary-prob-zero", ["summary", "{fit}", "--prob", "0"], 2, "--prob must be a probability"
    ),
    CliCase("summary-not-a-file", ["summary", "{d}"], 2, "(is a directory|not a file)"),
    # ---------------------------------------------------------------- optimal
    CliCase(
        "optimal-negative-budget",
        ["optimal", "{fit}", "--compute", "-1e21"],
        2,
        "compute budget.*> 0|budgets must be positive",
    ),
    CliCase(
        "optimal-text-budget",
        ["optimal", "{fit}", "--compute", "lots"],
        2,
        "compute budgets must be numbers like 1e21,1e22; got 'lots'",
    ),
    CliCase(
        "optimal-one-input-law",
        ["optimal", "{fit}", "--compute", "1e21"],
        2,
        "needs a law over \\(parameters, tokens\\); this fit uses 'power' with inputs \\['x'\\]",
    ),
    CliCase(
        "optimal-k-zero",
        ["optimal", "{fit}", "--compute", "1e21", "--k", "0"],
        2,
        "k \\(FLOP per parameter per token\\) must be a positive number, got 0.0",
    ),
    # ---------------------------------------------------------------- risk / check / tune
    CliCase("risk-nothing-asked", ["risk", "{fit}", "{at}"], 2, "at least one of --below"),
    CliCase(
        "risk-negative-threshold",
        ["risk", "{fit}", "{at}", "--below", "-1"],
        2,
        "threshold must be > 0",
    ),
    CliCase(
        "risk-versus-without-runs",
        ["risk", "{fit}", "{at}", "--versus", "a"],
        2,
        "needs a fit with run=",
    ),
    CliCase(
        "risk-saturation-zero",
        ["risk", "{fit}", "{at}", "--saturation", "0"],
        2,
        "tolerance must be a positive number",
    ),
    CliCase(
        "check-missing-metric", ["check", "{fit}", "{at}"], 2, "metric column 'loss' not found"
    ),
    CliCase(
        "check-out-is-input",
        ["check", "{fit}", "{runs}", "--out", "{runs}"],
        2,
        "--out .* is also an input file; choose another name",
    ),
    CliCase("tune-not-lr-law", ["tune", "{fit}", "{at}"], 2, "(lr|learning rate).*batch"),
    # ---------------------------------------------------------------- compare / backtest
    CliCase(
        "compare-unknown-factor",
        ["compare", "{fit}", "--factor", "domainx"],
        2,
        "factor 'domainx'.*architecture",
    ),
    CliCase(
        "compare-unknown-param",
        ["compare", "{fit}", "--factor", "architecture", "--param", "beta"],
        2,
        "'beta'.*(not a parameter|alpha)",
    ),
    CliCase(
        "backtest-cutoff-beyond-data",
        [
            "backtest",
            "{runs}",
            "--x",
            "x",
            "--y",
            "loss",
            "--group",
            "architecture",
            "--cutoff",
            "1e20",
        ],
        2,
        "the split leaves 40 training and 0 held-out rows",
    ),
    CliCase(
        "backtest-cutoff-below-data",
        [
            "backtest",
            "{runs}",
            "--x",
            "x",
            "--y",
            "loss",
            "--group",
            "architecture",
            "--cutoff",
            "1",
        ],
        2,
        "the split leaves 0 training and 40 held-out rows",
    ),
    CliCase(
        "backtest-split-not-boolean",
        ["backtest", "{d}/r.csv", "--x", "x", "--y", "loss", "--split", "x"],
        2,
        "split column 'x'.*(true|bool)",
        _runs(GOOD),
    ),
    CliCase(
        "compare-laws-unknown-law",
        ["compare-laws", "{runs}", "--x", "x", "--y", "loss", "--law", "power", "--law", "cubic"],
        2,
        "unknown law 'cubic'",
    ),
    # ---------------------------------------------------------------- usage
    CliCase("unknown-verb", ["frobnicate"], 2, "invalid choice"),
    CliCase("no-verb", [], 2, "required"),
]
