"""The offline allergy check of prescriptions: each medicine against the patient's active
allergies, by the same substance and by drug class. It runs on a small table shipped with
the code, so it cannot die with a hosted service (OpenEMR's did, openemr #9772, #12354).

Sources of the table:
- Class membership: the WHO ATC classification (WHO Collaborating Centre for Drug
  Statistics Methodology, ATC/DDD Index 2025) — J01C penicillins, J01DB–DE
  cephalosporins, J01DH carbapenems, J01E sulfonamides and trimethoprim, M01A NSAIDs
  (plus N02BA salicylic acid derivatives for aspirin), J01FA macrolides, J01MA
  fluoroquinolones, N02A opioids.
- Aminopenicillins ↔ aminocephalosporins: their shared R1 side chain makes them
  cross-reactive, while other cephalosporins usually are not — Khan DA, Banerji A, et al.
  "Drug allergy: A 2022 practice parameter update", J Allergy Clin Immunol 2022;
  150(6):1333–1393, and Romano A et al., J Allergy Clin Immunol Pract 2020;8:S16–S116.

A match is a warning for the doctor to weigh, never a refusal: the prescriber decides,
with a reason, and the reason is kept.
"""

import re
import unicodedata
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DrugClass:
    key: str
    name: str  # "a penicillin" reads in the message: "amoxicillin is <name>"
    members: frozenset[str]
    aliases: frozenset[str] = frozenset()  # what an allergy to the whole class is written as

    @property
    def label(self) -> str:
        return {"nsaids": "NSAIDs"}.get(self.key, self.key.replace("_", " "))


def _words(*names: str) -> frozenset[str]:
    return frozenset(names)


PENICILLINS = DrugClass(
    "penicillins",
    "a penicillin",
    _words(
        "penicillin",
        "benzylpenicillin",
        "penicillin g",
        "penicillin v",
        "phenoxymethylpenicillin",
        "benzathine penicillin",
        "procaine penicillin",
        "amoxicillin",
        "amoxycillin",
        "ampicillin",
        "co amoxiclav",
        "bacampicillin",
        "pivampicillin",
        "cloxacillin",
        "dicloxacillin",
        "flucloxacillin",
        "nafcillin",
        "oxacillin",
        "piperacillin",
        "ticarcillin",
        "temocillin",
        "mecillinam",
        "pivmecillinam",
    ),
    _words("penicillins", "penicillin antibiotics", "beta lactam", "beta lactams"),
)
AMINOPENICILLINS = DrugClass(
    "aminopenicillins",
    "an aminopenicillin",
    _words("amoxicillin", "amoxycillin", "ampicillin", "co amoxiclav", "bacampicillin", "pivampicillin"),
    _words("aminopenicillins"),
)
AMINOCEPHALOSPORINS = DrugClass(
    "aminocephalosporins",
    "an aminocephalosporin",
    _words("cefalexin", "cephalexin", "cefaclor", "cefadroxil", "cefprozil", "cefatrizine", "cefradine", "cephradine"),
    _words("aminocephalosporins"),
)
CEPHALOSPORINS = DrugClass(
    "cephalosporins",
    "a cephalosporin",
    AMINOCEPHALOSPORINS.members
    | _words(
        "cefazolin",
        "cephazolin",
        "cefuroxime",
        "cefoxitin",
        "cefotaxime",
        "ceftriaxone",
        "ceftazidime",
        "cefepime",
        "cefixime",
        "cefpodoxime",
        "cefdinir",
        "cefditoren",
        "ceftaroline",
        "cefoperazone",
        "ceftolozane",
        "cefiderocol",
    ),
    _words("cephalosporin", "cephalosporins", "beta lactam", "beta lactams"),
)
CARBAPENEMS = DrugClass(
    "carbapenems",
    "a carbapenem",
    _words("imipenem", "meropenem", "ertapenem", "doripenem", "faropenem"),
    _words("carbapenem", "carbapenems", "beta lactam", "beta lactams"),
)
SULFONAMIDE_ANTIBIOTICS = DrugClass(
    "sulfonamide_antibiotics",
    "a sulfonamide antibiotic",
    _words(
        "sulfamethoxazole",
        "sulphamethoxazole",
        "co trimoxazole",
        "cotrimoxazole",
        "sulfadiazine",
        "sulphadiazine",
        "silver sulfadiazine",
        "sulfacetamide",
        "sulfadoxine",
        "sulfafurazole",
        "sulfisoxazole",
        "sulfasalazine",
    ),
    _words("sulfa", "sulpha", "sulfa drugs", "sulpha drugs", "sulfonamide", "sulfonamides", "sulphonamide", "sulphonamides"),
)
NSAIDS = DrugClass(
    "nsaids",
    "an NSAID",
    _words(
        "aspirin",
        "acetylsalicylic acid",
        "ibuprofen",
        "dexibuprofen",
        "diclofenac",
        "aceclofenac",
        "naproxen",
        "ketoprofen",
        "flurbiprofen",
        "mefenamic acid",
        "indomethacin",
        "indometacin",
        "ketorolac",
        "piroxicam",
        "meloxicam",
        "lornoxicam",
        "nimesulide",
        "etoricoxib",
        "celecoxib",
        "etodolac",
        "nabumetone",
    ),
    _words("nsaid", "nsaids", "non steroidal anti inflammatory", "non steroidal anti inflammatory drugs", "anti inflammatory"),
)
MACROLIDES = DrugClass(
    "macrolides",
    "a macrolide",
    _words("erythromycin", "azithromycin", "clarithromycin", "roxithromycin", "spiramycin"),
    _words("macrolide", "macrolides"),
)
FLUOROQUINOLONES = DrugClass(
    "fluoroquinolones",
    "a fluoroquinolone",
    _words("ciprofloxacin", "levofloxacin", "ofloxacin", "norfloxacin", "moxifloxacin", "gatifloxacin", "prulifloxacin"),
    _words("fluoroquinolone", "fluoroquinolones", "quinolone", "quinolones"),
)
OPIOIDS = DrugClass(
    "opioids",
    "an opioid",
    _words(
        "morphine",
        "codeine",
        "dihydrocodeine",
        "tramadol",
        "tapentadol",
        "oxycodone",
        "hydrocodone",
        "hydromorphone",
        "fentanyl",
        "pethidine",
        "meperidine",
        "methadone",
        "buprenorphine",
        "pentazocine",
    ),
    _words("opioid", "opioids", "opiate", "opiates", "narcotics"),
)

DRUG_CLASSES: tuple[DrugClass, ...] = (
    PENICILLINS,
    AMINOPENICILLINS,
    AMINOCEPHALOSPORINS,
    CEPHALOSPORINS,
    CARBAPENEMS,
    SULFONAMIDE_ANTIBIOTICS,
    NSAIDS,
    MACROLIDES,
    FLUOROQUINOLONES,
    OPIOIDS,
)

# Classes that cross-react with each other (both ways), beyond membership of one class.
CROSS_REACTIVE: tuple[tuple[DrugClass, DrugClass, str], ...] = ((AMINOPENICILLINS, AMINOCEPHALOSPORINS, "shares its side chain with"),)


def normalize(text: str) -> str:
    """Case- and accent-insensitive, punctuation as spaces: "Amoxicillin-Clavulánico" →
    "amoxicillin clavulanico"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    without_accents = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.split(r"[^0-9a-z]+", without_accents.casefold())).strip()


def _contains(haystack: str, phrase: str) -> bool:
    """Whole words: "penicillin" is in "benzathine penicillin", not in "penicillamine"."""
    return bool(phrase) and f" {phrase} " in f" {haystack} "


def _classes_of_medicine(medicine: str) -> list[tuple[DrugClass, str]]:
    return [(drug_class, member) for drug_class in DRUG_CLASSES for member in drug_class.members if _contains(medicine, member)]


def _classes_of_allergy(substance: str) -> list[DrugClass]:
    """The classes an allergy points at: a class written out ("penicillins", "sulfa
    drugs") or any member of it ("amoxicillin" is an aminopenicillin and a penicillin)."""
    found = []
    for drug_class in DRUG_CLASSES:
        if any(_contains(substance, alias) for alias in drug_class.aliases | drug_class.members):
            found.append(drug_class)
    return found


@dataclass(frozen=True)
class AllergyMatch:
    allergy: Any  # clinical.models.Allergy, or anything with .substance
    match: str  # "exact" | "class"
    drug_class: str
    message: str


def check_medicine(medicine: str, allergies) -> list[AllergyMatch]:
    """Every active allergy the medicine matches, by the same substance first, else by
    class (one match per allergy: the strongest)."""
    medicine_words = normalize(medicine)
    if not medicine_words:
        return []
    medicine_classes = _classes_of_medicine(medicine_words)
    matches = []
    for allergy in allergies:
        substance = normalize(allergy.substance)
        if not substance:
            continue
        if _contains(medicine_words, substance) or _contains(substance, medicine_words):
            matches.append(
                AllergyMatch(allergy, "exact", "", f"{medicine} contains {allergy.substance}, to which the patient is allergic.")
            )
            continue
        match = _class_match(medicine, medicine_classes, allergy, _classes_of_allergy(substance))
        if match is not None:
            matches.append(match)
    return matches


def _class_match(medicine: str, medicine_classes, allergy, allergy_classes) -> AllergyMatch | None:
    allergy_class_keys = {drug_class.key for drug_class in allergy_classes}
    for drug_class, _member in medicine_classes:
        if drug_class.key in allergy_class_keys:
            return AllergyMatch(
                allergy,
                "class",
                drug_class.label,
                f"{medicine} is {drug_class.name}; the patient is allergic to {allergy.substance} ({drug_class.label}).",
            )
    for first, second, relation in CROSS_REACTIVE:
        for medicine_class, allergy_class in ((first, second), (second, first)):
            if medicine_class in (c for c, _ in medicine_classes) and allergy_class in allergy_classes:
                return AllergyMatch(
                    allergy,
                    "class",
                    f"{medicine_class.label} ↔ {allergy_class.label}",
                    f"{medicine} is {medicine_class.name}, which {relation} the {allergy_class.label}; "
                    f"the patient is allergic to {allergy.substance}.",
                )
    return None
