"""Step-by-step dialogs: the refill wizard and its steps."""
