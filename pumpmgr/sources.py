"""The sources a finding rests on, by name, for the "source" link beside it (domain-rules §6).

Pure layer: the standard library only. A finding carries its sources as tags
(:attr:`pumpmgr.dose_checks.Finding.sources`): ``S<n>`` for the numbered source list of
``domain.md``, or a section of pumpmgr's own rules. A message never shows a tag; the screens
show each source's :attr:`Source.name` ("Infumorph label") and, when the nurse opens it, its
:attr:`Source.reference`. Every tag the shipped catalogs and the checks use has an entry
(tests/test_sources.py holds them to it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    name: str  #: short, as a link's words: "Infumorph label"
    reference: str  #: what it is and where it was read, for the nurse who opens it


def _s(name: str, reference: str) -> Source:
    return Source(name, reference)


SOURCES: dict[str, Source] = {
    "S1": _s(
        "SynchroMed II (Medtronic)",
        "Medtronic, SynchroMed II Drug Infusion System, page "
        "for healthcare professionals (indications; Infumorph, Prialt, Lioresal IT).",
    ),
    "S2": _s(
        "SynchroMed II sizes",
        "NeurosurgeryWiki, SynchroMed II (20 mL and 40 mL pumps), "
        "citing Rocque and Albright, Neurosurgery 2010.",
    ),
    "S3": _s(
        "SynchroMed II patient page",
        "Medtronic UK patient page on the SynchroMed II "
        "pump for severe spasticity (flex dosing up to 13 rates a day; MR conditional).",
    ),
    "S4": _s(
        "Prometra 20 mL pump manual",
        "Flowonix, 20 mL Programmable Pump (REF 11827) "
        "instructions for use, MRI statement naming the Prometra and Prometra II pumps.",
    ),
    "S5": _s(
        "Prometra patient controller guide",
        "Flowonix, Prometra Patient Therapy "
        "Controller guide: the next refill date is when the reservoir reaches 3.0 mL, "
        "every bolus taken.",
    ),
    "S6": _s(
        "Prometra II manual: accuracy",
        "Flowonix, Prometra II Programmable Pump "
        "instructions for use, clinical studies (delivery accuracy).",
    ),
    "S7": _s(
        "Prometra II manual: MRI",
        "Flowonix, Prometra II instructions for use, MRI "
        "pages (empty the pump before MRI; the flow-activated valve).",
    ),
    "S8": _s(
        "Pump replacement (Medtronic)",
        "Medtronic UK, Getting a Replacement: drug pumps "
        "(battery life, the elective replacement indicator, planning ahead).",
    ),
    "S9": _s(
        "SynchroMed MRI guidelines",
        "Medtronic professional site, MRI guidelines for "
        "SynchroMed II and EL (the rotor stops; delayed recovery).",
    ),
    "S10": _s(
        "MHRA device alert 2008",
        "UK MHRA Medical Device Alert MDA/2008/087, SynchroMed EL and II and MRI.",
    ),
    "S11": _s(
        "TGA notice: SynchroMed II after MRI",
        "TGA, SynchroMed II infusion pump: "
        "caution after MRI (interrogate the pump after the scan).",
    ),
    "S12": _s(
        "SynchroMed and IsoMed prescriber information",
        "Medtronic, SynchroMed and "
        "IsoMed Information for Prescribers (model list; MRI appendices).",
    ),
    "S13": _s(
        "UW Health pump nursing pages",
        "UW Health nursing hub, intrathecal pump pages: "
        "MRI, and pump refills (do not rely on alarms alone).",
    ),
    "S14": _s(
        "Prometra II manual: implant",
        "Flowonix, Prometra II instructions for use, "
        "implant steps (110 cm catheter, 0.0026 mL/cm, record the trimmed length).",
    ),
    "S15": _s(
        "Prometra II manual: precautions",
        "Flowonix, Prometra II instructions for use, "
        "precautions (a syringe of 10 mL or more for the catheter access chamber).",
    ),
    "S16": _s(
        "Codman 3000 patient support",
        "J&J MedTech, CODMAN 3000 constant-flow pump "
        "patient support pages (no battery; heat speeds the flow).",
    ),
    "S17": _s(
        "Hong Kong safety alert 2014",
        "Hong Kong Medical Device Division safety alert, "
        "18 March 2014 (over-infusion beyond the labelled 14.5 %).",
    ),
    "S19": _s(
        "Medtronic field safety notice 2016",
        "Medtronic UK urgent field safety notice "
        "update, October 2016: the low-reservoir alarm is calculated, not measured.",
    ),
    "S20": _s(
        "TGA recall 2016",
        "TGA recall RC-2016-RN-01458-1 (the same content as Medtronic's 2016 field safety notice).",
    ),
    "S21": _s(
        "Neurosurgery 2004: residual volume",
        "Neurosurgery 2004 multicentre study of "
        "withdrawal symptoms and residual volume in SynchroMed pumps (2 mL alarm volume; "
        "4 mL stopped recurrence).",
    ),
    "S24": _s(
        "Codman pump manual: morphine",
        "Codman pump manual, warning on morphine precipitation above 10 mg/mL.",
    ),
    "S29": _s(
        "Medtronic refill kit instructions",
        "Medtronic refill kits 8555 and 8553, instructions for use (IsoMed refill calculations).",
    ),
    "S30": _s(
        "Ascenda catheter",
        "NeurosurgeryWiki, Ascenda intrathecal catheter; FDA approval news, September 2012.",
    ),
    "S31": _s(
        "Medtronic catheter instructions",
        "Medtronic intrathecal catheters 8709SC and 8731SC, instructions for use.",
    ),
    "S33": _s(
        "Prialt prescriber pages",
        "Prialt.com pages for healthcare professionals: the "
        "importance of titration (SynchroMed II lowest flow 0.048 mL/day) and pump use.",
    ),
    "S35": _s(
        "CMSC 2015: baclofen best practice",
        "Saulino and Gudesblatt, CMSC 2015: best "
        "practices in intrathecal baclofen therapy, dosing and long-term management.",
    ),
    "S41": _s(
        "Infumorph label",
        "Infumorph (preservative-free morphine) prescribing "
        "summary: 10 and 25 mg/mL; intrathecal starting doses; caution above 20 mg/day.",
    ),
    "S45": _s(
        "FDA safety communication 2018",
        "FDA safety communication, 14 November 2018: "
        "implanted pumps, use caution when selecting pain medicine for intrathecal use.",
    ),
    "S46": _s(
        "FDA 2018 communication, summary",
        "NursingCenter summary of the FDA's 2018 "
        "communication (the drugs approved for intrathecal pain pumps).",
    ),
    "S47": _s(
        "Prialt label",
        "Prialt (ziconotide) label summaries: titration by 2.4 mcg/day "
        "to at most 19.2 mcg/day; vial sizes.",
    ),
    "S48": _s(
        "Lioresal label",
        "Lioresal Intrathecal for healthcare professionals: ampules "
        "and refill kit, dosing and administration, boxed warning.",
    ),
    "S49": _s(
        "PACC 2017",
        "Deer TR et al., The Polyanalgesic Consensus Conference (PACC): "
        "recommendations on intrathecal drug infusion systems, Neuromodulation 2017.",
    ),
    "S50": _s(
        "Gablofen label: how supplied",
        "Gablofen US label, how supplied (50, 500, 1000 and 2000 mcg/mL).",
    ),
    "S51": _s(
        "Gablofen monograph",
        "Gablofen monograph summary: maintenance dose ranges by origin and age.",
    ),
    "S52": _s(
        "FDA NDC records (baclofen)",
        "openFDA NDC records of intrathecal baclofen products and their strengths.",
    ),
    "S54": _s(
        "Intrathecal baclofen monograph",
        "Intrathecal baclofen drug monograph: "
        "screening, the starting dose rule, titration and maintenance ranges.",
    ),
    "S56": _s(
        "Arch Phys Med Rehabil 1994",
        "Intrathecal baclofen for intractable spinal "
        "spasticity, Arch Phys Med Rehabil 1994 (doses above 1000 mcg/day).",
    ),
    "S57": _s(
        "Baclofen overdose report 1991",
        "Intrathecal baclofen overdose: report of 7 events in 5 patients, 1991.",
    ),
    "S58": _s(
        "Baclofen injection label (FDA)",
        "openFDA label for baclofen injection (boxed "
        "warning), and the staging of baclofen withdrawal.",
    ),
    "S59": _s("Prialt overdose text", "Prialt label text on overdose and interactions."),
    "S60": _s(
        "Prialt dosing",
        "Prialt dosing summaries (monitoring; may be stopped abruptly "
        "without withdrawal; a naive pump primed with 25 mcg/mL only).",
    ),
    "S61": _s(
        "PACC 2007: refills and reprogramming",
        "Pump refills and reprogramming (PACC "
        "2007: increases up to 30 % non-malignant, 50 % malignant pain).",
    ),
    "S67": _s("Oral baclofen overdose (MIMS)", "MIMS Bamifen text on overdose."),
    "S68": _s(
        "J Emerg Med 2020: baclofen overdose",
        "J Emerg Med 2020;58(4):616-619, intrathecal baclofen overdose mimicking withdrawal.",
    ),
    "S72": _s(
        "Neuromodulation 2023: baclofen stability",
        "Baclofen stability in implanted "
        "pumps with refill intervals up to 367 days, Neuromodulation 2023.",
    ),
    "domain-rules §3": _s(
        "pumpmgr's refill rules",
        "pumpmgr's clinical rules, section 3: "
        "the forecast and the refill-due date (clinic policy where no "
        "source gives a value).",
    ),
    "domain-rules §6": _s(
        "pumpmgr's dose rules",
        "pumpmgr's clinical rules, section 6: the "
        "drug library and dose checks (clinic policy where no source "
        "gives a value).",
    ),
    "domain.md §1.1": _s(
        "pumpmgr's pump facts",
        "pumpmgr's clinical facts, section 1.1: how each kind of pump works.",
    ),
    "domain.md §4.3": _s(
        "pumpmgr's pain drug facts",
        "pumpmgr's clinical facts, section 4.3: the intrathecal pain drugs.",
    ),
    "domain.md §5": _s(
        "pumpmgr's safety hazards",
        "pumpmgr's clinical facts, section 5: the safety hazards the program guards against.",
    ),
}


def sources_of(tags: Iterable[str]) -> tuple[Source, ...]:
    """The sources of ``tags`` in order, each once; a tag without an entry is left out (the
    finding is still shown, without its link)."""
    found = [SOURCES[tag] for tag in dict.fromkeys(tags) if tag in SOURCES]
    return tuple(dict.fromkeys(found))
