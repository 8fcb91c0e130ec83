"""The shipped catalogs: pump models, catheter models and the drug library, read from TOML.

A package of three modules: :mod:`.model` (the catalogs' data classes), :mod:`.reader` (one
TOML file into them, with errors naming the file, the entry and the field) and :mod:`.loading`
(the files, and the shipped catalogs read once). Every public name is here too.

Pure layer: imports the standard library (``tomllib``), :mod:`pumpmgr.units` (pint),
:mod:`pumpmgr.errors`, :mod:`pumpmgr.formatting` (for the mass-unit type) and
:mod:`pumpmgr.resources_locator`, the only place that knows where the files lie. No database,
no Qt, no reportlab.

The files are ``resources/catalogs/{pumps,catheters,drugs}.toml``; each starts with
``schema_version = 1`` and documents its own shape. Conventions:

- Quantities are strings with their unit (``"1000 mcg/day"``), read with
  :func:`pumpmgr.units.parse`. Drug doses and concentrations must be written in the drug's own
  display unit (``mcg/day``, ``mg/mL``...), so a mg/mcg slip in the data file is refused.
- An empty string is a value that is not known or not set: the clinic enters it. It loads as
  ``None``.
- Every value carries its source: a ``sources`` table beside the values maps each field to a
  tag (``"S41"``) or a list of tags, ``S<n>`` for ``domain.md``'s source list, or
  ``domain-rules §<n>`` / ``domain.md §<n>`` for a rule or a stated fact of the project's
  references. A non-empty value without a source does not load.

Unverified values (``domain.md`` marks them UNVERIFIED, mostly PACC doses recalled but not
checked against the paper) are listed per drug in ``unverified`` and are never hard limits:

- ``hard_max`` (blocks a dose) may not be flagged unverified: such a file does not load.
  Unverified ceilings ship as ``soft_max`` (a warning saved with a reason) instead.
- ``max_concentration`` may be unverified: it then ships as a soft limit, so a concentration
  above it is a warning rather than blocked (:attr:`Drug.max_concentration_blocks`).
- ``typical_min`` / ``typical_max`` may be unverified; being outside the typical range is only
  a warning. The one blocking use of the range, a dose 10 times or more above its top (the
  mark of a mg/mcg slip, domain-rules §6), stays blocking: the tenfold margin is far wider than
  any doubt about the recalled value.

Pump values that are inferences (SynchroMed EL and IsoMed sizes read from model numbers, the
approximate Codman 3000 volume) are listed in ``inferred``: they ship as starting values so a
legacy record is not blank, and :attr:`PumpModel.to_confirm` names them with the empty values,
for the clinic to confirm on the pump record before any of them is used as a limit.

The default catalogs are read once (:func:`default_catalogs` is cached).
"""

from __future__ import annotations

from pumpmgr.catalogs.loading import (
    catheter_model,
    default_catalogs,
    drug,
    load_catalogs,
    load_catheters_file,
    load_drugs_file,
    load_pumps_file,
    pump_model,
)
from pumpmgr.catalogs.model import (
    CATHETERS_FILE,
    DRUGS_FILE,
    PUMPS_FILE,
    SCHEMA_VERSION,
    TITRATION_VARIANTS,
    Catalogs,
    CatheterModel,
    CatheterSegment,
    Drug,
    DrugLibrary,
    Limit,
    OpioidStatus,
    Origin,
    Pain,
    PumpModel,
    PumpType,
    Sources,
    Stability,
    StartRule,
    TitrationKind,
    TitrationLimit,
    TitrationRule,
    ValueStatus,
)
from pumpmgr.catalogs.reader import (
    load_catheters,
    load_drugs,
    load_pumps,
)

__all__ = [
    "CATHETERS_FILE",
    "DRUGS_FILE",
    "PUMPS_FILE",
    "SCHEMA_VERSION",
    "TITRATION_VARIANTS",
    "Catalogs",
    "CatheterModel",
    "CatheterSegment",
    "Drug",
    "DrugLibrary",
    "Limit",
    "OpioidStatus",
    "Origin",
    "Pain",
    "PumpModel",
    "PumpType",
    "Sources",
    "Stability",
    "StartRule",
    "TitrationKind",
    "TitrationLimit",
    "TitrationRule",
    "ValueStatus",
    "catheter_model",
    "default_catalogs",
    "drug",
    "load_catalogs",
    "load_catheters",
    "load_catheters_file",
    "load_drugs",
    "load_drugs_file",
    "load_pumps",
    "load_pumps_file",
    "pump_model",
]
