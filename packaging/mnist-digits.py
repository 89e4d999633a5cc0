"""PyInstaller entry point of the command line."""

import sys

from mnist_desktop.cli import main

sys.exit(main())
