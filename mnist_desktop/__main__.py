"""``python -m mnist_desktop``: the command line, as ``mnist-digits``."""

import sys

from .cli import main

sys.exit(main())
