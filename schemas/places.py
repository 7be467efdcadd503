"""Syria's governorates by the names articles, annotators and models give them: one table for the domain.

The conflict schema reads a record's governorate (``admin1``) from its place
as written; the FA-KES scorer compares governorates through the same table,
so "Al-Hasakah Governorate", "hasakeh" and "الحسكة" are one governorate everywhere.
"""

from __future__ import annotations

import re

from llm_extract.grounding import normalize

__all__ = ["GOVERNORATES", "SYRIA", "governorate", "governorate_named_in"]

GOVERNORATES: dict[str, str] = {
    "aleppo": "Aleppo",
    "halab": "Aleppo",
    "damascus": "Damascus",
    "dimashq": "Damascus",
    "rif dimashq": "Rif Dimashq",
    "reef dimashq": "Rif Dimashq",
    "rural damascus": "Rif Dimashq",
    "damascus countryside": "Rif Dimashq",
    "damascus suburbs": "Rif Dimashq",
    "idlib": "Idlib",
    "idleb": "Idlib",
    "raqqa": "Raqqa",
    "raqqah": "Raqqa",
    "rakka": "Raqqa",
    "deir ezzor": "Deir ez-Zor",
    "deir ez zor": "Deir ez-Zor",
    "deir el zor": "Deir ez-Zor",
    "deir al zor": "Deir ez-Zor",
    "deir al zour": "Deir ez-Zor",
    "deir ezzour": "Deir ez-Zor",
    "dayr az zawr": "Deir ez-Zor",
    "homs": "Homs",
    "hims": "Homs",
    "hasakeh": "Hasakah",
    "hasakah": "Hasakah",
    "hassakeh": "Hasakah",
    "hasaka": "Hasakah",
    "hasake": "Hasakah",
    "daraa": "Daraa",
    "deraa": "Daraa",
    "dar'a": "Daraa",
    "hama": "Hama",
    "hamah": "Hama",
    "lattakia": "Latakia",
    "latakia": "Latakia",
    "lattaquie": "Latakia",
    "ladhiqiyah": "Latakia",
    "quneitra": "Quneitra",
    "qunaytirah": "Quneitra",
    "kuneitra": "Quneitra",
    "suwayda": "As-Suwayda",
    "sweida": "As-Suwayda",
    "suwaida": "As-Suwayda",
    "tartus": "Tartus",
    "tartous": "Tartus",
    "tartouss": "Tartus",
    # Arabic, as articles write them (compared after normalize(): hamzas and taa marbuta folded).
    "حلب": "Aleppo",
    "دمشق": "Damascus",
    "ريف دمشق": "Rif Dimashq",
    "إدلب": "Idlib",
    "ادلب": "Idlib",
    "الرقة": "Raqqa",
    "دير الزور": "Deir ez-Zor",
    "حمص": "Homs",
    "الحسكة": "Hasakah",
    "درعا": "Daraa",
    "حماة": "Hama",
    "اللاذقية": "Latakia",
    "القنيطرة": "Quneitra",
    "السويداء": "As-Suwayda",
    "طرطوس": "Tartus",
}
"""Spellings of Syria's 14 governorates (FA-KES's lower-case ones, those models write, the Arabic names)
-> one English name.

Both sides go through this table after :func:`_place_key`, so "Al-Hasakah Governorate",
"hasakeh" and "Hasaka" are one governorate.
"""

_PLACE_NOISE = re.compile(r"\b(governorate|province|muhafazat|countryside of|the)\b|\bمحافظه\b")


def _place_key(name: str) -> str:
    """Lower case, no "al-"/"as-" article, hyphens and "governorate" gone, spaces collapsed."""
    text = normalize(name).lower().replace("-", " ").replace("_", " ").replace("’", "'")
    text = _PLACE_NOISE.sub(" ", text)
    words = [w for w in text.split() if w not in ("al", "as", "ad", "ar", "el", "ash")]
    return " ".join(words)


_LOOKUP = {_place_key(spelling): name for spelling, name in GOVERNORATES.items()}


def governorate(name: str | None) -> str | None:
    """The English governorate a spelling names (see :data:`GOVERNORATES`), ``None`` when it names none."""
    if not name:
        return None
    key = _place_key(name)
    return _LOOKUP.get(key) or _LOOKUP.get(key.replace("'", ""))


_NAMED = re.compile(
    r"(?<!\w)(?:[وبلف]|[وف]ب|[وف]ل)?("
    + "|".join(sorted((re.escape(k) for k in _LOOKUP), key=len, reverse=True))
    + r")(?!\w)"
)

_LIST = re.compile(r"\s+(?:and|&|و)\s+|\s*[,،/]\s*")
SYRIA = frozenset(normalize(name).lower() for name in ("Syria", "سوريا", "سورية", "Syrian Arab Republic"))
"""The country the governorate table is of, as articles and models name it (normalised, lower case)."""
_RURAL = re.compile(r"\b(?:countryside|rural)\b|(?<!\w)[وب]?ريف(?!\w)")
_BOTH = re.compile(r"\bprovince\b|\band its (?:countryside|suburbs)\b|(?<!\w)وريفها(?!\w)")
_NEAR = re.compile(
    r"\b(?:near|nearby|outside|outskirts|off|across|opposite|border|borders|road|highway|motorway|route|gate|airport"
    r"|airbase|suburb|suburbs|between|province)\b|\b(?:north|south|east|west)\w*\s+of\b"
    r"|(?<!\w)[وب]?(?:قرب|بالقرب|شرق|غرب|شمال|جنوب|شرقي|غربي|شمالي|جنوبي|اطراف|محيط|مقابل|المقابله|طريق|اوتوستراد"
    r"|مطار|حدود|الحدود|ضواحي|مشارف)(?!\w)"
)
"""Words that put a place beside, on the way to, or around a city ("near Damascus", "شرق دمشق", "Damascus
airport", "the Beirut-Damascus highway"): such a place may lie in another governorate or country. "province"
is here because writers use "Damascus province" for Rif Dimashq."""


_COUNTRY_FIRST = re.compile(
    r"^(?:" + "|".join(map(re.escape, sorted(SYRIA, key=len, reverse=True))) + r")(?:'?s)?\s+(?=\S)"
)
"""The country written before a place, possessive or not (apostrophes are gone from FA-KES's text)."""


def governorate_named_in(place: str | None) -> str | None:
    """The one governorate a place as written names ("Raqqa city", "ريف حلب الشمالي", "Aleppo, Syria"),
    ``None`` when it names none or several ("Aleppo and Damascus"), or puts the place beside one ("near Homs").

    A list of places ("Idlip and Aleppo") names one governorate only when each
    of its places names that governorate or is the country. The countryside of
    a city is its governorate, except Damascus's, which is Rif Dimashq.
    """
    if not place:
        return None
    found: set[str] = set()
    for part in filter(None, _LIST.split(normalize(place).lower().strip(" .,،"))):
        part = _COUNTRY_FIRST.sub("", part)  # "Syria's Deir ez-Zor province" (FA-KES: "Syrias") is the province
        key = _place_key(part)
        named = {_LOOKUP[m.group(1)] for m in _NAMED.finditer(key)}
        if named and _NEAR.search(part) and not (len(named) == 1 and _LOOKUP.get(key)):
            return None  # "near Homs", "Damascus airport": beside the city, maybe not in its governorate
        if not named and key not in SYRIA:
            return None  # a place this table cannot place: the list may span governorates
        if named == {"Damascus"} and _BOTH.search(part):
            return None  # "Damascus province", "دمشق وريفها": the city, its countryside, or both
        if named == {"Damascus"} and _RURAL.search(part):
            named = {"Rif Dimashq"}
        found |= named
    return found.pop() if len(found) == 1 else None
