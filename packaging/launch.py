"""Frozen entry point: the window (srdesk [PHOTO], --self-test, --version) or, when started as
`srdesk-cli` (a link to the same program) or as `srdesk cli ...`, the command line."""

import sys
from pathlib import Path


def run() -> int:
    program = Path(sys.argv[0]).name.lower()
    if program.startswith("srdesk-cli") or (len(sys.argv) > 1 and sys.argv[1] == "cli"):
        from srdesk.cli import main as cli_main

        return cli_main(sys.argv[2:] if sys.argv[1:2] == ["cli"] else sys.argv[1:])
    from srdesk.gui.app import main
    from srdesk.gui.crash import install_excepthook

    install_excepthook()
    return main()


sys.exit(run())
