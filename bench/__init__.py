"""pumpmgr's performance benchmark: a large clinic, and every figure against its lower bound.

Not part of the program (not in the wheel). ``python -m bench`` from the repository root builds
(once, then cached) a clinic of 5,000 patients with 20 years of history and prints one line per
figure; ``python -m bench --quick`` does the same on 50 patients. See ``docs/performance.md``.
"""
