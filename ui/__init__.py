"""The PySide6 desktop program; it calls pumpmgr's services and holds no dose arithmetic."""
