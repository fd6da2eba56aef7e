"""``python -m kotoutus.cli``: the ``kotoutus`` command."""

from kotoutus.cli import main

main()
