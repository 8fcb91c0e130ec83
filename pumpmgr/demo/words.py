"""The demo clinic's invented words: family and given names, pump sites, and the notes and
reasons its records carry (shared with :mod:`bench.plan`, whose clinic reads the same).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass


FAMILY = (
    "Almeida",
    "Bauer",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fischer",
    "García",
    "Haddad",
    "Ivanova",
    "Jansen",
    "Kowalski",
    "Laurent",
    "Moreau",
    "Nakamura",
    "O'Neill",
    "Petrov",
    "Quinn",
    "Rossi",
    "Schneider",
    "Tanaka",
    "Usman",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zimmermann",
    "Andersson",
    "Becker",
    "Costa",
    "Diallo",
    "Evans",
    "Ferreira",
    "Gallagher",
    "Hoffmann",
    "Ibrahim",
    "Jovanović",
    "Keller",
    "Lindberg",
    "Mensah",
    "Novak",
)
GIVEN = (
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Elena",
    "Farid",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Karin",
    "Luca",
    "Maya",
    "Nils",
    "Olivia",
    "Pavel",
    "Rosa",
    "Stefan",
    "Tara",
    "Umar",
    "Vera",
    "Walter",
    "Yara",
    "Zoe",
    "Amir",
    "Birgit",
    "Carlos",
    "Dana",
    "Emil",
    "Fatima",
)
RELATION = ("spouse", "partner", "child", "parent", "sibling", "friend")
SITES = ("right lower abdomen", "left lower abdomen")

REASONS: dict[str, str] = {
    "dose.above_soft_max": "long-standing dose, effective and tolerated; reviewed at clinic",
    "dose.above_typical": "reached by gradual titration over months; tolerated",
    "dose.below_typical": "effective at this dose; patient sensitive to side effects",
    "dose.tenth_of_typical": "deliberately low starting dose; reviewed",
    "concentration.above_unverified_max": "compounded to the pharmacy's protocol; "
    "concentration checked by the pharmacist",
    "titration.above_percent": "increase ordered by the prescriber after review; patient "
    "observed in clinic",
    "titration.above_step": "prescriber's order after review; patient observed in clinic",
    "titration.too_many_steps": "rapid titration agreed with the patient; daily phone contact",
    "titration.within_24h": "correction of the morning's programming; prescriber present",
    # a new implant's first dose is a start (domain-rules §6)
    "start.screening_bolus_not_given": "screening trial done at the referring hospital; its "
    "record is on paper",
    "start.above_range": "start dose set by the prescriber after the screening trial",
}

NOTES_LESS = (
    "Less returned than expected. Pocket fill excluded: no swelling or pain at the pump site, "
    "patient alert, no signs of overdose. Pump interrogated, no alarms. Recheck next refill.",
    "Less returned than expected. Patient reports extra bolus use after a fall; PTM log "
    "reviewed and matches. No overdose signs.",
)
NOTES_MORE = (
    "More returned than expected (under-infusion). Pump log shows a motor stall that recovered; "
    "rotor study normal. Catheter access port aspirated: CSF clear. Physician informed.",
    "More returned than expected. Spasticity increased over the last weeks; catheter dye study "
    "booked. Physician informed.",
)
#: The reason given for the demo's one titration beyond the rule.
TITRATION_REASON = (
    "no effect from the last two increases (Ashworth 3, painful spasms at "
    "night); prescriber's order after examination, patient observed in clinic "
    "for 4 h"
)
NOTE_ANY = (
    "Residual outside the expected range; pump interrogated, no alarm, running. "
    "Recheck at next refill."
)
