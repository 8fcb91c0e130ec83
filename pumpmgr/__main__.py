"""``python -m pumpmgr``: the command line."""

import sys

from pumpmgr.cli import main

sys.exit(main())
