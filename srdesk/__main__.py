"""`python -m srdesk` starts the desktop app."""

import sys

from srdesk.gui.app import main

sys.exit(main())
