"""PyInstaller entry point of the window (a script, so absolute imports only)."""

import sys

from mnist_desktop.app import main

sys.exit(main())
