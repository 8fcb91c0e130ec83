"""The steps of the refill wizard, in the order of the visit at the bedside; one module for
one step or two that belong together, and :mod:`.shared` for what several steps use.

UI layer: imports PySide6, :mod:`pumpmgr.refill` (``discrepancy`` and ``plan_refill`` for the
live verdict and the capacity check), :mod:`pumpmgr.formatting` and the ui widgets. Every figure
shown comes from the wizard's :class:`~pumpmgr.visit.VisitPlan` (``plan_visit``) or from a pure
domain function; the steps only read what the nurse types and show the domain's answers.

1. Patient and pump: who and which pump, what is in it now; the nurse confirms
   (:mod:`.patient`).
2. Before the refill: the programmer's reading, site and pocket, symptoms (:mod:`.bedside`).
3. Residual: the expected residual, the volume aspirated, the discrepancy verdict at once
   (:mod:`.residual`).
4. Solution: the same solution, a new concentration, or a new drug or admixture; lot, expiry
   and source (:mod:`.fill`).
5. Volume to add, with the capacity check (:mod:`.fill`).
6. Program: unchanged or changed, with live dose checks; the bridge at a concentration change
   (:mod:`.program`).
7. At the pump: needle position and pump running confirmed (:mod:`.pump_checks`).
8. Programmer's figures against pumpmgr's forecast (:mod:`.pump_checks`).
9. Second nurse: an independent check with their own password (:mod:`.verify`).
10. Review: before and after side by side; Save (:mod:`.review`).
11. Done: print the completed worksheet and the wallet card (:mod:`.review`).
"""
