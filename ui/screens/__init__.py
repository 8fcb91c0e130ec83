"""The main window's screens: the due list (home), the patient view and the lock screen."""
