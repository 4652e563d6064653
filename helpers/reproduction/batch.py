"""The runner's earlier module name, kept so that existing commands and imports keep working.

``python -m helpers.reproduction.batch run|sweep|params`` is
``python -m helpers.reproduction.runner``; the functions live in
:mod:`helpers.reproduction.runner` (runs), :mod:`helpers.reproduction.params` (parameters) and
:mod:`helpers.reproduction.sweep` (sweeps).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from helpers.outputs import registry_sha256  # noqa: F401 - re-exported
from helpers.reproduction.params import ParameterError, read_parameters  # noqa: F401 - re-exported
from helpers.reproduction.params import validate_parameters as _validate
from helpers.reproduction.runner import (  # noqa: F401 - re-exported
    NOTEBOOKS_DIR,
    OUTPUTS_DIR,
    NotebookResult,
    RunResult,
    execution_order,
    list_notebooks,
    main,
    run_collection,
)


def validate_parameters(params: Mapping[str, object]) -> dict[str, object]:
    """Check values against the parameters declared by the collection's notebooks.

    Parameters
    ----------
    params
        Name -> value.

    Returns
    -------
    dict
        The normalised values.

    Example
    -------
    >>> validate_parameters({"dfi_cutoff_months": "18"})
    {'dfi_cutoff_months': 18}
    """
    return _validate(params, read_parameters(list_notebooks()))


def resolve_parameters(params: Mapping[str, object], *, base_dir: str | Path | None = None) -> dict[str, object]:
    """The given values with every path made absolute (against ``base_dir`` or the working directory).

    Parameters
    ----------
    params
        Name -> value.
    base_dir
        Folder relative paths are relative to.

    Returns
    -------
    dict
        The notebooks' defaults (first notebook declaring each), overridden by ``params``.

    Example
    -------
    >>> resolve_parameters({"registry_mapping": ""})["registry_mapping"]
    ''
    """
    from helpers.reproduction.params import absolute_paths

    declared = read_parameters(list_notebooks())
    given = absolute_paths(_validate(params, declared), declared, base_dir)
    return {**{name: p.default for name, p in declared.items()}, **given}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
