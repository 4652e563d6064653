"""``python -m helpers.reproduction.synthetic``: regenerate the shipped synthetic registry."""

from helpers.reproduction.synthetic.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
