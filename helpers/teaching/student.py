"""The student edition: the notebooks with the solution cells replaced by blanks to fill in.

A code cell tagged ``solution`` becomes, in the student edition, one line per ``answer...``
variable it assigns (``answer_dfi = None  # your answer here``), so that the check cell after
it still runs and says "not answered yet"; a markdown cell tagged ``solution`` becomes
"*Your answer:*". Outputs are dropped and a note cell opens each notebook. The full notebooks
stay the instructor edition. ``python -m helpers.teaching.student --out student/`` (``make
student``) writes the edition for ``notebooks/*.ipynb``.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

import nbformat

#: The tag that marks a solution cell.
SOLUTION_TAG: str = "solution"
STUDENT_NOTE: str = ("*Student edition*: the solution cells are blanks. Fill in each `answer_...` "
                     "variable and run the check cell under it; it says whether the answer is right.")


def _answer_names(source: str) -> list[str]:
    """The ``answer...`` names a solution cell assigns at top level, in order."""
    names: list[str] = []
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
            if isinstance(node, ast.AnnAssign | ast.AugAssign) else []
        for target in targets:
            for name in ast.walk(target):
                if isinstance(name, ast.Name) and name.id.startswith("answer") and name.id not in names:
                    names.append(name.id)
    return names


def student_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` with its solution cells blanked and outputs dropped (see the module docstring).

    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("answer_n = len(data)",
    ...                                      metadata={"tags": ["solution"]})])
    >>> student_notebook(nb).cells[1].source
    'answer_n = None  # your answer here'
    """
    out = nbformat.from_dict(nb)
    cells = [nbformat.v4.new_markdown_cell(STUDENT_NOTE)]
    for cell in out.cells:
        if SOLUTION_TAG in cell.get("metadata", {}).get("tags", []):
            if cell.cell_type == "code":
                names = _answer_names(cell.source)
                if not names:
                    raise ValueError(f"solution cell {cell.get('id', '')!r} assigns no answer... variable:\n{cell.source}")
                cell = nbformat.v4.new_code_cell("\n".join(f"{n} = None  # your answer here" for n in names))
            else:
                cell = nbformat.v4.new_markdown_cell("*Your answer:* ")
        elif cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    out.cells = cells
    return out


def write_student_edition(source_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Write the student edition of every ``*.ipynb`` in ``source_dir`` to ``out_dir``; return the paths.

    Markdown files beside the notebooks (the glossary) are copied, so that links keep working.
    """
    source_dir, out_dir = Path(source_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(source_dir.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        target = out_dir / path.name
        nbformat.write(student_notebook(nb), target)
        written.append(target)
    if not written:
        raise FileNotFoundError(f"no notebooks (*.ipynb) in {source_dir}")
    for page in sorted(source_dir.glob("*.md")):
        (out_dir / page.name).write_text(page.read_text(encoding="utf-8"), encoding="utf-8")
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m helpers.teaching.student [--notebooks DIR] --out DIR``."""
    parser = argparse.ArgumentParser(prog="python -m helpers.teaching.student", description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", default="notebooks", help="folder of the instructor notebooks")
    parser.add_argument("--out", default="student", help="folder for the student edition")
    args = parser.parse_args(argv)
    for path in write_student_edition(args.notebooks, args.out):
        print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
