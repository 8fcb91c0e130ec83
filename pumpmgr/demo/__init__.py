"""A realistic demo clinic, written entirely through :class:`ClinicService` (application
layer).

May import the standard library, argon2-cffi, the pure modules (clock, schedule, units, refill,
records), ``pumpmgr.db`` (to count what was written) and the other services; never ``ui``, Qt or
reportlab. Used by ``pumpmgr demo`` and by tests and screens that need a full clinic. The
modules hold: :mod:`.users` who signs in, :mod:`.words` the invented names and notes,
:mod:`.plans` what a patient's life is made of, :mod:`.scenarios` the patients, and
:mod:`.builder` the walk through the clinic's history that writes them.

:func:`build_demo_clinic` fills an *empty* database with several years of clinic life, dated
relative to today, by calling the same service methods the screens call (each one transaction
with its audit entries and forecast update), so the audit trail is complete and verifies. A
:class:`~pumpmgr.clock.FixedClock` is moved forward through the history (the services refuse
instants in the future) and is left at the start of ``today``. The same seed, patient count,
``today`` and time zone give the same records and the same audit chain.

Demo users (the passwords are for this demo only and must never be used for real accounts; they
are hashed with a deliberately cheap argon2 setting, ``PasswordHasher(time_cost=1,
memory_cost=1024, parallelism=1)``, so that building the demo is quick; a real sign-in upgrades
such a hash to the full setting)::

    user name    password               role
    admin        demo-admin-pass        administrator
    nurse1       demo-nurse-pass        nurse
    nurse2       demo-nurse-pass        nurse
    prescriber   demo-prescriber-pass   prescriber

What the clinic holds (the first six patients always have these, so even a small demo does):

- pumps: SynchroMed II 20 and 40 mL, Prometra II 20 and 40 mL, an IsoMed 35 mL constant-flow pump
  at a nominal 0.5 mL/day with compounded morphine matching it, and a legacy SynchroMed EL 18 mL
  that reaches its elective replacement indicator and is replaced by a SynchroMed II 40 mL;
- drugs: mostly baclofen at 500, 1000 and 2000 mcg/mL, morphine, ziconotide, hydromorphone, and
  the admixtures morphine + clonidine and hydromorphone + bupivacaine; flex schedules for some,
  patient-activated boluses for some;
- refills at roughly each due date with aspirated volumes near the expected residual, a few
  discrepancies with a note, a titration beyond the rule saved with its reasons, a
  concentration change with its bridge bolus, a corrected refill, an MRI with the post-MRI check,
  a catheter revision, a pump replacement, a pump whose replace-by date is under 6 months away,
  some patients overdue and some due this week (with 10 patients or more also an explanted pump);
- bookings (issue 16): the last six weeks' refills were booked visits, closed as attended by the
  refill; today's diary has visits booked in time on the proposed day, one booked too late with
  its reason, one cancelled and booked again, one moved, and a patient due within days who did
  not attend yesterday's visit (first on the due list, with the call list);
- orders and facts (issue 11), on the last day: orders signed, held for the prescriber's
  signature and awaiting co-signature, a reviewed incident; with 10 active pumps or more also a
  declined order, an open incident "programmed outside limits", a pump found empty and refilled
  on its old program (a restart without a restart order, with the over-infusion-risk flag) and a
  fill found to have used an expired solution; one patient's individual maximum.

Catheters of Medtronic pumps are recorded as the clinic-defined catheter with an illustrative
volume per cm (the catalog never defaults a Medtronic per-cm volume), and serial and lot numbers,
names and telephone numbers (555-01xx) are invented. Nothing here is clinical advice.
"""

from pumpmgr.demo.builder import MAX_PATIENTS, DemoSummary, build_demo_clinic
from pumpmgr.demo.users import DEMO_HASHER, DEMO_USERS, DemoUser

__all__ = [
    "DEMO_HASHER",
    "DEMO_USERS",
    "MAX_PATIENTS",
    "DemoSummary",
    "DemoUser",
    "build_demo_clinic",
]
