"""``python -m rltheory``: the ``rltheory`` command line (:func:`rltheory.cli.main`), for an environment whose
scripts directory is not on ``PATH``."""
import sys

from .cli import console_main

if __name__ == "__main__":
    sys.exit(console_main())
