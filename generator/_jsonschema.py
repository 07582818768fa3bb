"""jsonschema, imported without loading its IRI format checks until one is used.

jsonschema 4.26 checks the `iri` and `iri-reference` formats with the
rfc3987-syntax package, which builds a parser from its grammar as it is
imported. On the benchmark machine (see docs/benchmarks.md) that import took
more than half the run time of `asyncapi-gen generate` on the Realtor spec,
although few specs use these formats. This module imports jsonschema with that
package hidden, then registers checkers for the two formats that import it on
first use, so every verdict is still the one rfc3987-syntax gives.

Modules of this package import jsonschema from here, never directly.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable

_IRI_PACKAGE = "rfc3987_syntax"
_hidden = _IRI_PACKAGE not in sys.modules and "jsonschema" not in sys.modules
if _hidden:
    # A None entry makes `import rfc3987_syntax` raise ImportError, and
    # jsonschema then registers no IRI checkers of its own.
    sys.modules[_IRI_PACKAGE] = None  # type: ignore[assignment]
try:
    import jsonschema as jsonschema
finally:
    if _hidden:
        del sys.modules[_IRI_PACKAGE]

__all__ = ["jsonschema"]


def _lazy_iri_check(rule: str) -> Callable[[object], bool]:
    def check(instance: object) -> bool:
        if not isinstance(instance, str):
            return True
        package = importlib.import_module(_IRI_PACKAGE)
        return bool(package.is_valid_syntax(rule, instance))

    return check


def _register_lazy_iri_checks() -> None:
    if importlib.util.find_spec(_IRI_PACKAGE) is None:
        return
    validators = (
        jsonschema.Draft7Validator,
        jsonschema.Draft201909Validator,
        jsonschema.Draft202012Validator,
    )
    for validator in validators:
        checker = validator.FORMAT_CHECKER
        for name, rule in (("iri", "iri"), ("iri-reference", "iri_reference")):
            # Another IRI package (rfc3987) may have registered a checker already.
            if name not in checker.checkers:
                checker.checks(name, raises=ValueError)(_lazy_iri_check(rule))


_register_lazy_iri_checks()
