"""Qt item models over the frozen records services hand out (read-only; see style.md §3.8)."""
