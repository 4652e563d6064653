"""``python -m helpers.reproduction.synthetic``: regenerate the shipped synthetic registry."""

from helpers.reproduction.synthetic.cli import main

raise SystemExit(main())
