"""Frozen entry point of the window (and --self-test, --version)."""

import sys

from srdesk.gui.app import main
from srdesk.gui.crash import install_excepthook

install_excepthook()
sys.exit(main())
