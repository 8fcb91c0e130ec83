"""pumpmgr: the domain core of the intrathecal pump clinic manager (never imports ``ui``)."""

__version__ = "0.1.0"
