"""Frozen entry point of srdesk-cli."""

import sys

from srdesk.cli import main

sys.exit(main())
