"""Laws from users' files: ``my_laws.py:moe``.

A fit records its law's name, inputs, priors, source text and hash, and the file it came from.
Using the fit later (``predict``, ``summary``...) imports that file again (or the one given with
``--law FILE.py:NAME``) and refuses it if the law's hash changed. The source text stored in a fit
is never executed: a fit file is data.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from bayes_scaling.laws._law import Law, LawError

__all__ = ["load_law_file", "parse_law_ref", "LAW_REF_HELP"]

LAW_REF_HELP = "a built-in law name or FILE.py:NAME (a function decorated with @bayes_scaling.law)"


def parse_law_ref(ref: str) -> tuple[Path, str] | None:
    """Split ``FILE.py:NAME``; ``None`` for a plain (built-in) name."""
    if ":" not in ref:
        if ref.endswith(".py"):
            raise LawError(f"law {ref!r}: name the law in the file, e.g. {ref}:my_law")
        return None
    path, _, name = ref.rpartition(":")
    if not path or not name:
        raise LawError(f"law reference {ref!r} must look like FILE.py:NAME")
    if not name.isidentifier():
        raise LawError(f"law reference {ref!r}: {name!r} is not a Python name")
    return Path(path), name


def load_law_file(path: str | Path, name: str) -> Law:
    """Import ``path`` and return its law ``name`` (with ``origin`` set to the absolute path).

    Raises
    ------
    LawError
        The file is missing, does not import, has no such name, or the name is not a law.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise LawError(f"law file {str(p)!r} does not exist")
    if p.suffix != ".py":
        raise LawError(f"law file {str(p)!r} must be a Python file (.py)")
    module_name = f"_bayes_scaling_user_law_{abs(hash(str(p.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, p)
    if spec is None or spec.loader is None:
        raise LawError(f"law file {str(p)!r} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as err:
        raise LawError(
            f"law file {str(p)!r} has a syntax error at line {err.lineno}: {err.msg}"
        ) from None
    except Exception as err:  # noqa: BLE001 - the user's module may raise anything
        first = str(err).splitlines()[0] if str(err) else ""
        raise LawError(
            f"law file {str(p)!r} failed to import: {type(err).__name__}: {first}"
        ) from None
    finally:
        sys.modules.pop(module_name, None)
    if not hasattr(module, name):
        laws = sorted(k for k, v in vars(module).items() if isinstance(v, Law))
        raise LawError(f"law file {str(p)!r} has no {name!r}; laws in it: {laws or 'none'}")
    obj = getattr(module, name)
    if not isinstance(obj, Law):
        raise LawError(
            f"{name!r} in {str(p)!r} is a {type(obj).__name__}, not a law: decorate it with "
            "@bayes_scaling.law(inputs=..., priors=...)"
        )
    from dataclasses import replace

    return replace(obj, origin=str(p.resolve()))
