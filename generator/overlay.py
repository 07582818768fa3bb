"""Find and render the package templates: a team's overlay folders, then built-ins.

An overlay folder mirrors the generated package. A file in it replaces the
built-in file of the same relative path, and any other file is added to the
output. `{% extends "builtin/<path>" %}` reaches the built-in template even when
an overlay replaces it, so a team can override single blocks. Folders given
earlier win over later ones.

A path in an overlay folder that contains `{{ ... }}` is rendered once per
item: the one variable it names (`message`, `operation`, `channel` or
`schema`) picks the list, and each item gives one output file, named by
rendering the path with that item.

Team filters and globals come from a Python file that defines `FILTERS` and
`GLOBALS` dicts. Every template error, including one raised by a team filter,
becomes one line naming the template file and line, with exit code 2.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FunctionType, ModuleType
from typing import TYPE_CHECKING, Any

from .errors import GeneratorError

if TYPE_CHECKING:
    import jinja2

TEMPLATE_SUFFIX = ".jinja"
BUILTIN_PREFIX = "builtin"
ITEM_KINDS: Mapping[str, Callable[[Mapping[str, Any]], list[Any]]] = {
    "message": lambda context: list(context["spec"]["messages"]),
    "operation": lambda context: list(context["spec"]["operations"]),
    "channel": lambda context: list(context["channels"]),
    "schema": lambda context: list(context["schemas"]),
}
SKIPPED_NAMES = frozenset({"__pycache__"})


@dataclass(frozen=True)
class TemplateSet:
    """The template folders of one run and the team's filters file, if any."""

    builtin: Path
    overlays: tuple[Path, ...] = ()
    filters: Path | None = None

    def folders(self) -> tuple[Path, ...]:
        """Return every folder in lookup order: overlays first, built-ins last."""
        return (*self.overlays, self.builtin)


def template_files(templates: TemplateSet) -> dict[str, Path]:
    """Return the file each relative template path comes from; first folder wins."""
    for folder in templates.overlays:
        if not folder.is_dir():
            raise GeneratorError(
                f"{folder}: error: template folder not found; check --templates "
                "or the templates setting"
            )
        if (folder / BUILTIN_PREFIX).exists():
            raise GeneratorError(
                f"{folder / BUILTIN_PREFIX}: error: the name {BUILTIN_PREFIX!r} is "
                "reserved for the built-in templates; rename that folder"
            )
    found: dict[str, Path] = {}
    for folder in templates.folders():
        for path in template_paths(folder):
            found.setdefault(path.relative_to(folder).as_posix(), path)
    return dict(sorted(found.items()))


def template_paths(folder: Path) -> Iterator[Path]:
    """Yield every file of a template folder, skipping caches and dotfiles."""
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if any(p in SKIPPED_NAMES or p.startswith(".") for p in parts):
            continue
        if path.is_file():
            yield path


def make_environment(
    templates: TemplateSet, filters: Mapping[str, Callable[..., Any]]
) -> jinja2.Environment:
    """Build the Jinja environment: strict undefined, overlays before built-ins."""
    # Imported here so that reading options and fingerprints stays light.
    import jinja2

    builtin = jinja2.FileSystemLoader(str(templates.builtin))
    loader = jinja2.ChoiceLoader(
        [
            jinja2.PrefixLoader({BUILTIN_PREFIX: builtin}),
            *(jinja2.FileSystemLoader(str(folder)) for folder in templates.overlays),
            builtin,
        ]
    )
    environment = jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    environment.filters.update({k: _strict(f) for k, f in filters.items()})
    if templates.filters is not None:
        team_filters, team_globals = load_team_module(templates.filters)
        clashes = sorted(set(team_filters) & set(filters))
        if clashes:
            raise GeneratorError(
                f"{templates.filters}: error: FILTERS redefines the built-in "
                f"filter {clashes[0]!r}; give the team filter another name"
            )
        environment.filters.update(
            {k: _contained(_strict(f)) for k, f in team_filters.items()}
        )
        environment.globals.update(
            {
                k: _contained(v) if isinstance(v, FunctionType) else v
                for k, v in team_globals.items()
            }
        )
    environment.bytecode_cache = _bytecode_cache(environment, templates.filters)
    return environment


def _bytecode_cache(
    environment: jinja2.Environment, filters_file: Path | None
) -> jinja2.BytecodeCache | None:
    """Return a cache of compiled templates, kept between runs like __pycache__.

    Compiling the built-in templates takes about a tenth of a Realtor
    generate. Jinja keys each entry by the template's path and checks it
    against the source's digest, and keeps the files in a folder of the
    user's own under the temporary folder. Compilation also depends on the
    environment's options and on which filters and tests exist. Jinja also
    runs a filter on a literal while it compiles. So the file names carry
    the options, the filter and test names, and digests of the tool's modules
    (the built-in filters) and of the team's filters file. Without a usable
    folder, templates are compiled each run.

    NOTE: modules that the filters file imports are not in the digests. A
    filter from such a module, applied to a literal, keeps its old result
    until the filters file or the template changes.
    """
    import jinja2

    from .fingerprint import code_digest, text_digest

    settings = repr(
        (
            jinja2.__version__,
            environment.trim_blocks,
            environment.lstrip_blocks,
            environment.keep_trailing_newline,
            environment.autoescape,
            sorted(environment.filters),
            sorted(environment.tests),
            code_digest(),
            text_digest(filters_file) if filters_file is not None else None,
        )
    )
    tag = hashlib.sha256(settings.encode("utf-8")).hexdigest()[:16]

    class TolerantCache(jinja2.FileSystemBytecodeCache):
        """Jinja's cache, with a broken entry or a full disk costing a compile."""

        def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            try:
                super().load_bytecode(bucket)
            except Exception:  # a truncated or foreign file: compile instead
                bucket.reset()

        def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:
                pass  # the template still renders; the next run compiles it

    try:
        return TolerantCache(pattern=f"asyncapi-gen-{tag}-%s.cache")
    except (OSError, RuntimeError):
        return None


def _strict(function: Callable[..., Any]) -> Callable[..., Any]:
    """Make a filter fail on an undefined value as the template itself would."""
    if hasattr(function, "jinja_pass_arg"):
        return function

    @functools.wraps(function)
    def strict(value: Any, *args: Any, **kwargs: Any) -> Any:
        import jinja2

        if isinstance(value, jinja2.Undefined):
            str(value)  # StrictUndefined raises UndefinedError, naming the value
        return function(value, *args, **kwargs)

    return strict


class TeamCodeExit(Exception):
    """A BaseException such as SystemExit, raised by a team filter or global.

    Jinja reports the template line only for an Exception, so the wrapper
    turns the original into this one and keeps it as `original`.
    """

    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


def _contained(function: Callable[..., Any]) -> Callable[..., Any]:
    """Make a team function raise TeamCodeExit in place of a BaseException."""

    @functools.wraps(function)
    def contained(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except Exception:
            raise
        except BaseException as error:
            raise TeamCodeExit(error) from error

    return contained


def load_team_module(
    path: Path,
) -> tuple[dict[str, Callable[..., Any]], dict[str, Any]]:
    """Import the team's filters file and return its FILTERS and GLOBALS."""
    if not path.is_file():
        raise GeneratorError(
            f"{path}: error: filters file not found; check --filters or the "
            "filters setting"
        )
    module = _import_file(path)
    filters = getattr(module, "FILTERS", {})
    globals_ = getattr(module, "GLOBALS", {})
    for name, value in (("FILTERS", filters), ("GLOBALS", globals_)):
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise GeneratorError(
                f"{path}: error: {name} must be a dict with string keys"
            )
    for name, function in filters.items():
        if not callable(function):
            raise GeneratorError(
                f"{path}: error: FILTERS[{name!r}] is not callable; map each "
                "filter name to a function"
            )
    return dict(filters), dict(globals_)


def _import_file(path: Path) -> ModuleType:
    """Run the file as a module, with its folder importable for its own imports."""
    digest = hashlib.sha256(os.fsencode(path.resolve())).hexdigest()[:16]
    name = f"asyncapi_gen_team_filters_{digest}"
    spec = importlib.util.spec_from_file_location(name, path.resolve())
    if spec is None or spec.loader is None:
        raise GeneratorError(f"{path}: error: not a Python file that can be imported")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    files = {os.path.normpath(path.resolve())}
    try:
        spec.loader.exec_module(module)
    except BaseException as error:
        # The team's code may raise anything on import, including SystemExit
        # from sys.exit(), which would otherwise end the run without a word.
        # A BaseException raised outside the file, such as Ctrl-C's
        # KeyboardInterrupt, passes through.
        line = _line_in(error, files)
        if not isinstance(error, Exception) and line is None:
            raise
        where = f"{path}:{line}" if line else str(path)
        raise GeneratorError(
            f"{where}: error: importing the filters file failed: "
            f"{type(error).__name__}: {_one_line(error)}"
        ) from None
    finally:
        sys.path.remove(folder)
    return module


def render_all(
    templates: TemplateSet,
    context: Mapping[str, Any],
    filters: Mapping[str, Callable[..., Any]],
) -> dict[str, str]:
    """Render every template and copy every other file, keyed by output path."""
    sources = template_files(templates)
    environment = make_environment(templates, filters)
    known = {
        os.path.normpath(path)
        for folder in templates.folders()
        for path in template_paths(folder)
    }
    team = (
        {os.path.normpath(templates.filters.resolve())} if templates.filters else set()
    )
    texts: dict[str, str] = {}
    producers: dict[str, str] = {}
    for relative, path in sources.items():
        outputs = _render_one(environment, relative, path, context, known, team)
        for name, text in outputs.items():
            if name in producers:
                raise GeneratorError(
                    f"{path}: error: produces {name}, which {producers[name]} also "
                    "produces; give the file a distinct name"
                )
            producers[name] = relative
            texts[name] = text
    return dict(sorted(texts.items()))


def _render_one(
    environment: jinja2.Environment,
    relative: str,
    path: Path,
    context: Mapping[str, Any],
    known: set[str],
    team: set[str],
) -> dict[str, str]:
    """Render one template, or copy one plain file; `team` is the filters file."""
    if not relative.endswith(TEMPLATE_SUFFIX):
        return {relative: path.read_text(encoding="utf-8")}
    output = relative.removesuffix(TEMPLATE_SUFFIX)
    try:
        template = environment.get_template(relative)
        if "{{" not in relative:
            return {output: template.render(context)}
        kind = _item_kind(environment, path, output)
        name_template = environment.from_string(output)
        result = {}
        for item in ITEM_KINDS[kind](context):
            values = {**context, kind: item}
            name = _checked_name(path, name_template.render(values))
            if name in result:
                raise GeneratorError(
                    f"{path}: error: two items of kind {kind!r} give the file name "
                    f"{name}; give the file a distinct name per {kind}"
                )
            result[name] = template.render(values)
        return result
    except GeneratorError:
        raise
    except BaseException as error:
        # A team filter or global may raise anything. SystemExit while a
        # template renders can only come from the team's code, since the tool
        # never calls sys.exit there, so it is an error even when a builtin
        # such as sys.exit raised it. Other BaseExceptions raised outside the
        # team's code, such as Ctrl-C's KeyboardInterrupt, pass through.
        if (
            not isinstance(error, Exception | SystemExit)
            and _frame_in(error, team) is None
        ):
            raise
        raise _template_error(error, path, known, team) from None


def _item_kind(environment: jinja2.Environment, path: Path, name: str) -> str:
    """Return which list a per-item file name iterates over."""
    import jinja2.meta

    variables = jinja2.meta.find_undeclared_variables(environment.parse(name))
    kinds = sorted(variables & set(ITEM_KINDS))
    if len(kinds) != 1:
        choices = ", ".join(ITEM_KINDS)
        raise GeneratorError(
            f"{path}: error: a templated file name must use exactly one of "
            f"{choices}; it uses {', '.join(kinds) or 'none of them'}"
        )
    return kinds[0]


def _checked_name(path: Path, name: str) -> str:
    parts = name.split("/")
    if "\\" in name or any(p in ("", ".", "..") for p in parts):
        raise GeneratorError(
            f"{path}: error: the file name renders to {name!r}, which is not a "
            "relative path inside the package; use a filter such as `snake`"
        )
    return name


def _template_error(
    error: BaseException, path: Path, known: set[str], team: set[str]
) -> GeneratorError:
    """Return one line naming the template file and line where `error` arose.

    When the error came from the filters file, the line also names where in it.
    """
    import jinja2

    if isinstance(error, jinja2.TemplateSyntaxError):
        where = f"{_shown(error.filename or str(path))}:{error.lineno}"
    else:
        file, line = _frame_in(error, known) or (str(path), 0)
        where = f"{_shown(file)}:{line}" if line else _shown(file)
    message = _one_line(error)
    if not isinstance(error, jinja2.TemplateError):
        message = f"{type(error).__name__}: {message}"
    team_frame = _frame_in(error, team)
    if isinstance(error, TeamCodeExit):
        original = error.original
        message = f"{type(original).__name__}: {_one_line(original)}"
        team_frame = _frame_in(original, team)
    if team_frame is not None:
        message += f" (raised at {_shown(team_frame[0])}:{team_frame[1]})"
    return GeneratorError(f"{where}: error: template failed: {message}")


def _frame_in(error: BaseException, files: set[str]) -> tuple[str, int] | None:
    """Return the innermost traceback frame that lies in one of `files`."""
    import traceback  # only a failing template needs it; `check` stays light

    found = None
    for frame in traceback.extract_tb(error.__traceback__):
        if os.path.normpath(frame.filename) in files and frame.lineno:
            found = (frame.filename, frame.lineno)
    return found


def _line_in(error: BaseException, files: set[str]) -> int | None:
    if isinstance(error, SyntaxError) and error.filename:
        if os.path.normpath(error.filename) not in files:
            return None
        return error.lineno
    frame = _frame_in(error, files)
    return frame[1] if frame else None


def _shown(file: str) -> str:
    """Return `file` relative to the working folder when it lies inside it."""
    path = Path(file)
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return os.fspath(path)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
