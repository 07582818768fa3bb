"""jsonschema, imported without the slow format packages until a schema needs them.

jsonschema 4.26 checks a few string formats with optional packages that are
slow to import: `iri` and `iri-reference` with rfc3987-syntax, which builds a
parser from its grammar as it is imported (more than half of a Realtor
generate on the benchmark machine, see docs/benchmarks.md), and `duration`
with isoduration, which imports arrow (about 20 ms). Few specs use these
formats. This module imports jsonschema with those packages hidden, then
registers checkers for their formats that, on first use, load a second copy
of jsonschema's own format module with the packages present and hand over to
its checker. So every verdict is jsonschema's, and a spec without these
formats never pays.

Modules of this package import jsonschema from here, never directly.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

# Each slow package, with the formats jsonschema checks with it and the
# drafts (as jsonschema's format module names them) that check each format.
_LAZY_FORMATS: dict[str, dict[str, tuple[str, ...]]] = {
    "rfc3987_syntax": {
        "iri": ("draft7", "draft201909", "draft202012"),
        "iri-reference": ("draft7", "draft201909", "draft202012"),
    },
    "isoduration": {"duration": ("draft201909", "draft202012")},
}

_hidden = [
    name
    for name in _LAZY_FORMATS
    if name not in sys.modules and "jsonschema" not in sys.modules
]
for _name in _hidden:
    # A None entry makes `import <name>` raise ImportError, and jsonschema
    # then registers no checker of its own for the package's formats.
    sys.modules[_name] = None  # type: ignore[assignment]
try:
    import jsonschema as jsonschema
finally:
    for _name in _hidden:
        del sys.modules[_name]

__all__ = ["jsonschema"]


@functools.cache
def _complete_format_module() -> ModuleType:
    """Return a private copy of jsonschema's format module, slow packages loaded."""
    spec = importlib.util.find_spec("jsonschema._format")
    if spec is None or spec.loader is None:
        raise ImportError("jsonschema._format is not installed")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _lazy_check(draft: str, name: str, live: Any) -> Callable[[object], bool]:
    def check(instance: object) -> bool:
        complete = _complete_format_module()._draft_checkers[draft]
        function, raises = complete.checkers.get(name, (lambda _: True, ()))
        # Later calls go straight to jsonschema's checker.
        live.checkers[name] = (function, raises)
        try:
            return bool(function(instance))
        except raises:
            return False

    return check


def _register_lazy_checks() -> None:
    live = jsonschema._format._draft_checkers  # type: ignore[attr-defined]
    for package, formats in _LAZY_FORMATS.items():
        if package not in _hidden or importlib.util.find_spec(package) is None:
            continue
        for name, drafts in formats.items():
            for draft in drafts:
                checker = live[draft]
                # Another package (rfc3987 for the IRI formats) may have
                # registered a checker already.
                if name not in checker.checkers:
                    checker.checks(name)(_lazy_check(draft, name, checker))


_register_lazy_checks()
