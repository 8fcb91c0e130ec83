"""``python -m ui``: start the desktop program (see :func:`ui.app.main`)."""

from ui.app import main

raise SystemExit(main())
