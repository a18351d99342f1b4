"""Save and load fits: netCDF through ArviZ, metadata as JSON attributes, a checksum over both.

* Writes are atomic: the file is written next to its destination and renamed, so a fit file is
  complete or absent, also when the process is interrupted.
* A saved fit carries a SHA-256 checksum of its metadata and of every array; a file that fails
  it, or whose metadata disagrees with its arrays, is refused with one line.
* Loading never executes code stored in the file: a user law is imported from the file recorded
  at fit time (or the one the caller names) and must match the recorded hash.
* Fits saved by bayes_scaling 0.1 (format 1) are upgraded on load (see :func:`_upgrade_v1`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import replace
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from bayes_scaling import _arviz

__all__ = ["save_fit", "load_fit", "atomic_write_text", "atomic_write", "fit_checksum"]

_CHECKSUM = "bayes_scaling_sha256"


def atomic_write(path: str | PathLike[str], write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"output directory {str(parent)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=parent)
    os.close(fd)
    try:
        write(Path(tmp))
        # mkstemp creates 0600; give the file the permissions a plain open() would (umask)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def fit_checksum(idata: _arviz.InferenceData) -> str:
    """SHA-256 of the fit's metadata and of every array of every group."""
    h = hashlib.sha256()
    h.update(str(_arviz.attrs(idata).get("bayes_scaling", "")).encode())
    for group, name, values in _arviz.iter_arrays(idata):
        h.update(f"{group}/{name}/{values.dtype.str}/{values.shape}".encode())
        if values.dtype.kind in "OUS":
            h.update("\x1f".join(map(str, values.ravel())).encode())
        else:
            h.update(np.ascontiguousarray(values).tobytes())
    return h.hexdigest()


def save_fit(fit: Any, path: str | PathLike[str]) -> None:
    """Write ``fit`` to a netCDF file (posterior, sample stats, log-likelihood, data, metadata).

    A fit with several laws (``law="auto"``) is written as one file holding each law's fit.
    """
    if hasattr(fit, "components"):
        from bayes_scaling.compare.forms import save_form_fit

        save_form_fit(fit, path)
        return
    from bayes_scaling.result import ScalingFit

    if not isinstance(fit, ScalingFit):
        raise TypeError(f"save_fit needs a ScalingFit, got {type(fit).__name__}")
    path = Path(path)
    if path.suffix.lower() not in (".nc", ".nc4", ".netcdf"):
        raise ValueError(
            f"a fit is saved as netCDF: the file name must end in .nc, got {path.name!r}"
        )
    idata = _arviz.with_attrs(fit.idata, {_CHECKSUM: fit_checksum(fit.idata)})
    atomic_write(path, lambda p: _arviz.to_netcdf(idata, p))


def _check_path(path: Path) -> None:
    if not path.exists():
        raise ValueError(f"fit file {str(path)!r} does not exist")
    if path.is_dir():
        raise ValueError(f"fit file {str(path)!r} is a directory")
    if path.stat().st_size == 0:
        raise ValueError(f"fit file {str(path)!r} is empty")


def _root_meta(path: Path) -> dict:
    """The fit's metadata (root attributes), checked before any array is read."""
    try:
        attrs = _arviz.read_root_attrs(path)
    except Exception as e:  # noqa: BLE001 - any reader failure is one clear line
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(
            f"cannot read {str(path)!r} as a saved fit (not a netCDF/HDF5 file: {first})"
        ) from None
    raw = attrs.get("bayes_scaling")
    if raw is None:
        raise ValueError(f"{str(path)!r} is a netCDF file, but not a fit written by bayes_scaling")
    try:
        meta = json.loads(raw)
    except (TypeError, json.JSONDecodeError):
        raise ValueError(f"fit file {str(path)!r}: its metadata is not valid JSON") from None
    if not isinstance(meta, dict):
        raise ValueError(f"fit file {str(path)!r}: its metadata is not a JSON object")
    return meta


def read_idata(path: str | PathLike[str]) -> _arviz.InferenceData:
    """Read and verify a single-law file written by :func:`save_fit` (no law resolution)."""
    path = Path(path)
    _check_path(path)
    _root_meta(path)
    try:
        idata = _arviz.from_netcdf(path)
    except Exception as e:  # noqa: BLE001
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"cannot read {str(path)!r} as a saved fit ({first})") from None
    stored = _arviz.attrs(idata).get(_CHECKSUM)
    clean = _arviz.with_attrs(idata, {}, drop=[_CHECKSUM])
    if stored is not None and stored != fit_checksum(clean):
        raise ValueError(
            f"fit file {str(path)!r} fails its checksum: it was modified or is corrupt; refit "
            "or restore the file"
        )
    return clean


def load_fit(path: str | PathLike[str], law: Any = None) -> Any:
    """Read a fit written by :func:`save_fit`; predictions from it equal the original's.

    Parameters
    ----------
    path : path
        The netCDF file.
    law : str or Law, optional
        Where the fit's user law is now (``"FILE.py:NAME"`` or a Law); default: the file
        recorded at fit time. Its hash must match the recorded one.

    Raises
    ------
    ValueError
        If the file is missing, unreadable, modified, inconsistent, or its law changed.
    """
    from bayes_scaling.laws import resolve_law
    from bayes_scaling.result import FORMAT_VERSION, ScalingFit

    path = Path(path)
    _check_path(path)
    meta = _root_meta(path)
    version = meta.get("format_version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"fit file {str(path)!r}: unknown format version {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"fit file {str(path)!r} was written by bayes_scaling {meta.get('package_version')} "
            f"(format {version}); this version reads up to format {FORMAT_VERSION}: upgrade"
        )
    if meta.get("kind") == "forms":
        from bayes_scaling.compare.forms import load_form_fit

        try:
            return load_form_fit(None, meta, path, law)
        except KeyError as e:
            raise ValueError(f"fit file {str(path)!r}: metadata lacks {e.args[0]!r}") from None
    idata = read_idata(path)
    if version == 1:
        return _upgrade_v1(idata, meta, path)
    try:
        found = resolve_law(meta["law"], law)
        fit = ScalingFit.from_idata(idata, law=found)
    except KeyError as e:
        raise ValueError(f"fit file {str(path)!r}: metadata lacks {e.args[0]!r}") from None
    except (TypeError, AttributeError) as e:
        raise ValueError(f"fit file {str(path)!r}: malformed metadata ({e})") from None
    _check_consistent(fit, path)
    return fit


def _check_consistent(fit: Any, path: Any) -> None:
    """Metadata must agree with the arrays (curves, levels, inputs, reference values)."""
    where = f"fit file {str(path)!r}"
    n_curves = _arviz.dim_size(fit.idata, "posterior", "curve")
    if n_curves != len(fit.curves) or fit.structure.n_curves != len(fit.curves):
        raise ValueError(f"{where}: {len(fit.curves)} curves recorded, {n_curves} in the arrays")
    for f, n in zip(fit.structure.factors, fit.structure.n_levels, strict=True):
        if len(fit.levels.get(f, [])) != n:
            raise ValueError(f"{where}: factor {f!r} has {n} levels, labels disagree")
    if len(fit.conditioning.log_x_ref) != len(fit.x_cols):
        raise ValueError(f"{where}: reference values do not match the inputs {list(fit.x_cols)}")
    if not fit.curves and fit.group_cols:
        raise ValueError(f"{where}: no curves recorded")


def _upgrade_v1(idata: Any, meta: dict, path: Any) -> Any:
    """A bayes_scaling 0.1 fit in the current format (same curves, same posterior).

    0.1 sampled each parameter's log value at the reference point (its reported ``E``, ``A``,
    ``alpha`` per curve were already reference values) with sampled effects; 0.2 samples the
    curves' values directly, so each curve keeps its draws exactly. The drift is re-drawn from
    the current prior (0.1's bias was per decade, today's is a share of the law's decline).
    """
    import warnings

    from bayes_scaling.drift.distance import distance_table
    from bayes_scaling.drift.prior import drift_population, load_drift_prior
    from bayes_scaling.fit import ScalingLaw
    from bayes_scaling.laws import BUILTIN
    from bayes_scaling.laws.conditioning import Conditioning, detect_covariance
    from bayes_scaling.result import FORMAT_VERSION, ScalingFit, structure_meta

    name = meta.get("law")
    if name not in ("power", "saturating", "broken", "chinchilla"):
        raise ValueError(
            f"fit file {str(path)!r} was written by bayes_scaling 0.1 with law {name!r}, which "
            "this version cannot upgrade; refit it"
        )
    warnings.warn(
        f"{str(path)!r} was written by bayes_scaling 0.1; it is upgraded in memory (save it "
        "again to keep the new format); its drift is re-drawn from today's prior",
        DeprecationWarning,
        stacklevel=3,
    )
    law = BUILTIN[name]
    design = meta["design"]
    post = _arviz.posterior_dict(idata)
    chains, draws = _arviz.n_chains_draws(idata)
    new_post: dict[str, np.ndarray] = {}
    for p in law.params:
        old = "z_break" if p == "x_break" else p
        log_link = old not in ("delta", "z_break")
        linked = f"log_{old}" if log_link else old
        new_post[f"mu_{p}"] = post[f"mu_{linked}"]
        values = post[old]
        new_post[f"u_{p}"] = np.log(values) if log_link else values
        for k, v in post.items():
            if k.startswith(f"sd_{linked}_"):
                new_post[f"sd_{p}_" + k[len(f"sd_{linked}_"):]] = v
    for k in ("mu_log_sigma", "sd_log_sigma", "z_log_sigma", "nu"):
        if k in post:
            new_post[k] = post[k]
    spec = ScalingLaw(
        name, pooling=design["pooling"], likelihood=design["likelihood"], noise=design["noise"],
        huber_delta=float(design.get("huber_delta", 1.345)),
    )
    x = _arviz.group_var(idata, "constant_data", "x")
    cidx = _arviz.group_var(idata, "constant_data", "curve_idx")
    lev = _arviz.group_var(idata, "constant_data", "level_idx")
    cond = Conditioning(detect_covariance(law), np.asarray(meta["log_x_ref"], float),
                        float(meta["log_y_ref"]), law.inputs)

    class _Run:  # the fields of RunData that the structure needs
        group_cols = tuple(meta["group_cols"])
        levels = meta["levels"]
        n_curves = len(meta["curves"])
        curve_idx = cidx
        level_idx = lev

    # 0.1 sampled the curves' values centred and the noise scales non-centred, whatever the size
    structure = replace(spec._structure(law, _Run, cond), curve_centered=True,  # noqa: SLF001
                        noise_centered=False)
    new_post.update(_natural_sites(structure, cond, new_post))
    new_post["sigma"] = post["sigma"]
    new_meta = {
        "format_version": FORMAT_VERSION,
        "package_version": meta.get("package_version"),
        "upgraded_from": 1,
        "law": law.spec(),
        "x_cols": meta["x_cols"],
        "y_col": meta["y_col"],
        "group_cols": meta["group_cols"],
        "run_col": None,
        "levels": meta["levels"],
        "numeric_groups": {},
        "curves": meta["curves"],
        "runs": [],
        "run_curve": [],
        "structure": structure_meta(structure),
        "conditioning": cond.to_dict(),
        "distance": distance_table(np.log10(x), cidx, len(meta["curves"])).to_dict(),
        "scale_cols": meta["x_cols"],
        "scale_kind": None,
        "sampler": meta.get("sampler", {}),
    }
    new = _arviz.replace_posterior(idata, new_post, {"bayes_scaling": json.dumps(new_meta)})
    fit = ScalingFit.from_idata(new, law=law)
    tau, bias, info = drift_population(load_drift_prior(), law, None).draws(
        chains * draws, int(meta.get("sampler", {}).get("seed", 0))
    )
    return fit.with_drift(tau, bias, info)


def _natural_sites(structure: Any, cond: Any, post: dict) -> dict:
    """Per-curve natural parameters (user units) from the curves' sampled values."""
    import jax.numpy as jnp

    from bayes_scaling.structure import natural_values as _natural

    u = {pl.name: post[f"u_{pl.name}"] for pl in structure.plans}
    refs = {name: cond.log_x_ref[k] for k, name in enumerate(structure.law.inputs)}
    refs["y"] = cond.log_y_ref
    nat = _natural(structure, {k: jnp.asarray(v) for k, v in u.items()}, refs)
    return {k: np.asarray(v) for k, v in nat.items()}
