"""``python -m delegation.cli``: the ``delegation`` command."""

from delegation.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
