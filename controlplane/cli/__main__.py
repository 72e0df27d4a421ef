"""``python -m controlplane.cli``: the same as the ``cartctl`` console script."""

from controlplane.cli import main

main()
