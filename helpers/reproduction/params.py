"""The notebooks' parameters, read from their ``parameters`` cells (the single source).

Every notebook has one cell tagged ``parameters`` with one line per knob,
``name: type = default  # one-line help``. :func:`read_parameters` reads those cells with
``papermill.inspect_notebook`` and merges them into one :class:`Parameter` per name (the notebooks
a name appears in, its type, its default and help in each). Everything the runner knows about a
parameter comes from there: validation of ``-p name=value`` and of sweep grids
(:func:`validate_parameters`, :func:`expand_grid`), the ``params`` listing
(:func:`parameter_table`) and the parameter table of README.md and CONTRIBUTING.md
(:func:`parameter_markdown`).

Two conventions of the cells are read as well:

- a ``str`` parameter whose help quotes two or more plain words (``"breslow" ... or "efron"``)
  accepts only those words;
- a name ending in ``_path``, ``_dir`` or ``_mapping`` is a file or folder: a relative value given
  to the runner is made absolute against the caller's working directory.
"""

from __future__ import annotations

import ast
import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

#: Name endings of path parameters (files or folders).
PATH_SUFFIXES: tuple[str, ...] = ("_path", "_dir", "_mapping")
_QUOTED = re.compile(r'"([^"]*)"')
_PLAIN_WORD = re.compile(r"^[A-Za-z0-9_-]+$")
_TYPES = {"str": str, "int": int, "float": float, "bool": bool}


class ParameterError(ValueError):
    """Unknown parameter names or ill-typed values; the message lists every problem."""


@dataclass(frozen=True)
class Parameter:
    """One parameter as declared by the notebooks' ``parameters`` cells.

    Attributes
    ----------
    name
        The variable name.
    kind
        Type name inferred by papermill (``str``, ``int``, ``float``, ``bool``; ``None``: untyped).
    defaults, helps
        Per notebook number (``"01"``): the default value and the help comment.
    """

    name: str
    kind: str | None
    defaults: tuple[tuple[str, object], ...]
    helps: tuple[tuple[str, str], ...]

    @property
    def notebooks(self) -> tuple[str, ...]:
        """The numbers of the notebooks declaring this parameter."""
        return tuple(number for number, _ in self.defaults)

    @property
    def default(self) -> object:
        """The default of the first notebook declaring it."""
        return self.defaults[0][1]

    @property
    def is_path(self) -> bool:
        """A file or folder (name ends in one of :data:`PATH_SUFFIXES`)."""
        return self.name.endswith(PATH_SUFFIXES)

    @property
    def choices(self) -> tuple[str, ...] | None:
        """The allowed words of a ``str`` parameter, quoted in its help; ``None``: any string."""
        if self.kind != "str":
            return None
        for _, text in self.helps:
            words = _QUOTED.findall(text)
            if len(words) >= 2 and all(_PLAIN_WORD.match(w) for w in words):
                return tuple(dict.fromkeys(words))
        return None


def _literal(source: str) -> object:
    """A default as written in the cell, evaluated when it is a literal (else the source)."""
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError):
        return source


def _number(path: Path) -> str:
    return path.name[:2]


def read_parameters(notebooks: Sequence[str | Path]) -> dict[str, Parameter]:
    """Every parameter declared by the notebooks' ``parameters`` cells, merged by name.

    Parameters
    ----------
    notebooks
        Notebook files named ``NN-*.ipynb``.

    Returns
    -------
    dict
        Name -> :class:`Parameter`, in order of first appearance.

    Raises
    ------
    ParameterError
        Two notebooks give the same name different types.

    Example
    -------
    >>> from helpers.reproduction.runner import list_notebooks
    >>> read_parameters(list_notebooks())["ties"].kind
    'str'
    """
    import papermill as pm

    seen: dict[str, dict] = {}
    for nb in map(Path, notebooks):
        for name, info in pm.inspect_notebook(str(nb)).items():
            entry = seen.setdefault(name, {"kinds": {}, "defaults": [], "helps": []})
            kind = info.get("inferred_type_name")
            entry["kinds"][_number(nb)] = None if kind in (None, "None") else kind
            entry["defaults"].append((_number(nb), _literal(str(info.get("default")))))
            entry["helps"].append((_number(nb), str(info.get("help") or "")))
    out = {}
    for name, entry in seen.items():
        kinds = set(entry["kinds"].values()) - {None}
        if len(kinds) > 1:
            raise ParameterError(f"{name}: declared with different types {entry['kinds']}")
        out[name] = Parameter(name, kinds.pop() if kinds else None,
                              tuple(entry["defaults"]), tuple(entry["helps"]))
    return out


def _per_notebook(pairs: Sequence[tuple[str, object]], show) -> str:
    """One value when every notebook agrees, else ``value (NN, NN); value (NN)``."""
    groups: dict[str, list[str]] = {}
    for number, value in pairs:
        groups.setdefault(show(value), []).append(number)
    if len(groups) == 1:
        return next(iter(groups))
    return "; ".join(f"{text} ({', '.join(numbers)})" for text, numbers in groups.items())


def _show(value: object) -> str:
    """A default as it reads in a cell (strings in double quotes)."""
    return json.dumps(value) if isinstance(value, str) else repr(value)


def parameter_table(parameters: Mapping[str, Parameter]) -> pd.DataFrame:
    """The parameters as a table: name, type, default, notebooks, allowed values, meaning.

    The help is the first declaring notebook's; where notebooks disagree on a default, each
    default and help is shown with the notebooks it belongs to.

    Parameters
    ----------
    parameters
        Output of :func:`read_parameters`.

    Returns
    -------
    pandas.DataFrame

    Example
    -------
    >>> from helpers.reproduction.runner import list_notebooks
    >>> table = parameter_table(read_parameters(list_notebooks()))
    >>> table.set_index("name").loc["ties", "allowed"]
    'breslow, efron'
    """
    rows = []
    for p in parameters.values():
        default = _per_notebook(p.defaults, _show)
        rows.append({
            "name": p.name, "type": p.kind or "", "default": default,
            "notebooks": ", ".join(p.notebooks), "allowed": ", ".join(p.choices or ()),
            # one help text, unless the notebooks mean different things (different defaults)
            "meaning": _per_notebook(p.helps, str) if ";" in default else p.helps[0][1],
        })
    return pd.DataFrame(rows, columns=["name", "type", "default", "notebooks", "allowed", "meaning"])


def parameter_markdown(parameters: Mapping[str, Parameter]) -> str:
    """The parameter table as Markdown (the table of README.md and CONTRIBUTING.md).

    Parameters
    ----------
    parameters
        Output of :func:`read_parameters`.

    Returns
    -------
    str
        A pipe table, one line per parameter, ending with a newline.

    Example
    -------
    >>> from helpers.reproduction.runner import list_notebooks
    >>> parameter_markdown(read_parameters(list_notebooks())).splitlines()[0]
    '| name | type | default | notebooks | allowed | meaning |'
    """
    table = parameter_table(parameters)

    def cell(name: str, value: object) -> str:
        text = str(value).replace("|", "\\|")
        return f"`{text}`" if name in ("name", "default") and text else text

    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(cell(c, v) for c, v in zip(table.columns, row, strict=True)) + " |")
    return "\n".join(lines) + "\n"


def _coerce(spec: Parameter, value: object) -> tuple[object, str | None]:
    """Check and normalise one value against its declared type; (value, problem or None)."""
    if isinstance(value, Path):
        value = str(value)
    if spec.kind in (None, "str"):
        if spec.kind == "str" and not isinstance(value, str):
            return value, f"{spec.name}: expected a string, found {value!r}"
        if spec.choices and value not in spec.choices:
            return value, f"{spec.name}: expected one of {', '.join(spec.choices)}, found {value!r}"
        return value, None
    if spec.kind == "bool":
        ok = isinstance(value, bool)
        return value, None if ok else f"{spec.name}: expected true or false, found {value!r}"
    number = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value, f"{spec.name}: expected a number ({spec.kind}), found {value!r}"
    if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
        return value, f"{spec.name}: expected a finite number ({spec.kind}), found {value!r}"
    if spec.kind == "int" and not float(number).is_integer():
        return value, f"{spec.name}: expected a whole number, found {value!r}"
    # whole numbers travel as ints, so level keys read lt_12_months, not lt_12.0_months
    return (int(number) if float(number).is_integer() else float(number)), None


def validate_parameters(
    params: Mapping[str, object], parameters: Mapping[str, Parameter]
) -> dict[str, object]:
    """Check names and values against the declared parameters; return normalised values.

    Every problem is collected before raising, so one error lists them all.

    Parameters
    ----------
    params
        Name -> value (only the names to set).
    parameters
        Output of :func:`read_parameters`.

    Returns
    -------
    dict
        The normalised values (numbers given as strings converted; whole numbers as ``int``).

    Raises
    ------
    ParameterError
        Unknown names (the known ones are listed) or values of the wrong type or not allowed.

    Example
    -------
    >>> from helpers.reproduction.runner import list_notebooks
    >>> validate_parameters({"dfi_cutoff_months": "18"}, read_parameters(list_notebooks()))
    {'dfi_cutoff_months': 18}
    """
    problems: list[str] = []
    clean: dict[str, object] = {}
    for name, value in params.items():
        spec = parameters.get(name)
        if spec is None:
            problems.append(f"{name}: unknown parameter; known: {', '.join(parameters)}")
            continue
        value, problem = _coerce(spec, value)
        if problem:
            problems.append(problem)
        else:
            clean[name] = value
    if problems:
        raise ParameterError(f"{len(problems)} parameter problem(s):\n  " + "\n  ".join(problems))
    return clean


def parse_assignments(pairs: Iterable[str], parameters: Mapping[str, Parameter]) -> dict[str, object]:
    """Parse ``name=value`` strings from the command line.

    A ``str`` parameter keeps the text as it is; other values are read as YAML scalars.

    Parameters
    ----------
    pairs
        e.g. ``["dfi_cutoff_months=18", "ties=efron"]``.
    parameters
        Output of :func:`read_parameters`.

    Returns
    -------
    dict

    Raises
    ------
    ParameterError
        A pair without ``=`` or with an empty name.

    Example
    -------
    >>> parse_assignments(["dfi_cutoff_months=18", "ties=efron"], {})
    {'dfi_cutoff_months': 18, 'ties': 'efron'}
    """
    out: dict[str, object] = {}
    problems = []
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            problems.append(f"-p {pair!r}: expected name=value")
        elif name in parameters and parameters[name].kind == "str":
            out[name] = raw.strip()
        else:
            try:
                out[name] = yaml.safe_load(raw) if raw.strip() else raw
            except yaml.YAMLError:
                out[name] = raw
    if problems:
        raise ParameterError("\n".join(problems))
    return out


def read_yaml_mapping(path: str | Path, what: str) -> dict:
    """Read a YAML file that must hold a mapping (a parameter file or a sweep grid).

    Parameters
    ----------
    path
        The YAML file.
    what
        What the file is, for error messages (``"parameter file"``, ``"grid"``).

    Returns
    -------
    dict

    Raises
    ------
    ParameterError
        Missing file, invalid YAML, or not a mapping.

    Example
    -------
    >>> read_yaml_mapping("absent.yaml", "grid")
    Traceback (most recent call last):
    ...
    helpers.reproduction.params.ParameterError: grid absent.yaml: file not found
    """
    file = Path(path)
    if not file.is_file():
        raise ParameterError(f"{what} {file}: file not found")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ParameterError(f"{what} {file}: not valid YAML ({exc})") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ParameterError(f"{what} {file}: expected a mapping name -> value, found {type(data).__name__}")
    return data


def absolute_paths(
    params: Mapping[str, object], parameters: Mapping[str, Parameter], base_dir: str | Path | None = None
) -> dict[str, object]:
    """The values with every non-empty path parameter made absolute against ``base_dir``.

    Parameters
    ----------
    params
        Validated values.
    parameters
        Output of :func:`read_parameters`.
    base_dir
        Folder relative paths are relative to (default: the current working directory).

    Returns
    -------
    dict

    Example
    -------
    >>> spec = {"output_dir": Parameter("output_dir", "str", (("01", ""),), (("01", ""),))}
    >>> absolute_paths({"output_dir": "out"}, spec, "/data")
    {'output_dir': '/data/out'}
    """
    base = Path.cwd() if base_dir is None else Path(base_dir)
    out = dict(params)
    for name, value in params.items():
        spec = parameters.get(name)
        if spec is not None and spec.is_path and value != "":
            out[name] = str((base / Path(str(value)).expanduser()).resolve())
    return out


def expand_grid(grid: Mapping[str, object], parameters: Mapping[str, Parameter]) -> list[dict[str, object]]:
    """Cartesian product of a grid (parameter -> list of values), validated.

    Parameters
    ----------
    grid
        e.g. ``{"dfi_cutoff_months": [6, 12], "ties": ["breslow", "efron"]}``; a scalar is a
        one-value list.
    parameters
        Output of :func:`read_parameters`.

    Returns
    -------
    list of dict
        One parameter set per run, in the order of ``itertools.product``.

    Raises
    ------
    ParameterError
        Unknown names, ``output_dir``, empty lists or bad values (all listed).

    Example
    -------
    >>> from helpers.reproduction.runner import list_notebooks
    >>> spec = read_parameters(list_notebooks())
    >>> len(expand_grid({"dfi_cutoff_months": [6, 12], "ties": ["breslow", "efron"]}, spec))
    4
    """
    problems = []
    axes: dict[str, list] = {}
    for name, values in grid.items():
        values = list(values) if isinstance(values, list | tuple) else [values]
        if name == "output_dir":
            problems.append("output_dir: cannot be swept (each run gets its own folder)")
        elif not values:
            problems.append(f"{name}: expected a non-empty list of values, found []")
        else:
            axes[name] = []
            for v in values:
                try:
                    axes[name].append(validate_parameters({name: v}, parameters)[name])
                except ParameterError as exc:
                    problems.append(str(exc).split("\n  ", 1)[-1])
    if problems:
        raise ParameterError(f"grid: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    return [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())]
