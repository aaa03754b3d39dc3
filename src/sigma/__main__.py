"""``python -m sigma ...`` runs the command line (:func:`sigma.cli.main.main`)."""

import sys

from sigma.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
