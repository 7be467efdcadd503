"""First-level divisions (``admin1``) by the names articles, annotators and models give them: one table per country.

The conflict schema reads a record's governorate (``admin1``) from its place
as written; the FA-KES scorer compares governorates through the same table,
so "Al-Hasakah Governorate", "hasakeh" and "الحسكة" are one governorate everywhere.
Syria's table is the default (the corpus is Syria first); Yemen's and Libya's
apply to a place whose record names that country, since their names are not
unique ("طرابلس" is also Lebanon's Tripoli, "البيضاء" both a Yemeni and a
Libyan town).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from llm_extract.grounding import normalize

__all__ = ["COUNTRIES", "GOVERNORATES", "country_named", "governorate", "governorate_named_in"]

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

# fmt: off
YEMEN: dict[str, str] = {
    "al hudaydah": "Al Hudaydah", "hudaydah": "Al Hudaydah", "hodeidah": "Al Hudaydah", "hodeida": "Al Hudaydah",
    "الحديدة": "Al Hudaydah",
    "amanat al asimah": "Amanat al Asimah", "أمانة العاصمة": "Amanat al Asimah",
    "sanaa": "Sanaa", "sana'a": "Sanaa", "صنعاء": "Sanaa",
    "aden": "Aden", "عدن": "Aden",
    "taizz": "Taizz", "taiz": "Taizz", "تعز": "Taizz",
    "marib": "Marib", "ma'rib": "Marib", "مأرب": "Marib",
    "al jawf": "Al Jawf", "الجوف": "Al Jawf",
    "saada": "Sa'dah", "sadah": "Sa'dah", "sa'dah": "Sa'dah", "صعدة": "Sa'dah",
    "hajjah": "Hajjah", "حجة": "Hajjah",
    "ibb": "Ibb", "إب": "Ibb",
    "dhamar": "Dhamar", "ذمار": "Dhamar",
    "al bayda": "Al Bayda", "البيضاء": "Al Bayda",
    "lahj": "Lahij", "lahij": "Lahij", "لحج": "Lahij",
    "abyan": "Abyan", "أبين": "Abyan",
    "shabwah": "Shabwah", "shabwa": "Shabwah", "شبوة": "Shabwah",
    "hadramawt": "Hadramawt", "hadramout": "Hadramawt", "hadhramaut": "Hadramawt", "حضرموت": "Hadramawt",
    "al mahrah": "Al Mahrah", "mahra": "Al Mahrah", "المهرة": "Al Mahrah",
    "socotra": "Socotra", "سقطرى": "Socotra",
    "al dhale'e": "Al Dhale'e", "dhale": "Al Dhale'e", "dhalea": "Al Dhale'e", "الضالع": "Al Dhale'e",
    "raymah": "Raymah", "ريمة": "Raymah",
    "amran": "Amran", "عمران": "Amran",
    "al mahwit": "Al Mahwit", "mahwit": "Al Mahwit", "المحويت": "Al Mahwit",
}
"""Yemen's 21 governorates and its capital's municipality -> one English name each (ISO 3166-2's without
diacritics, or the news spelling where it differs: "Sanaa", "Taizz", "Socotra")."""

LIBYA: dict[str, str] = {
    "tripoli": "Tripoli", "tarabulus": "Tripoli", "طرابلس": "Tripoli",
    "benghazi": "Benghazi", "banghazi": "Benghazi", "بنغازي": "Benghazi",
    "misrata": "Misrata", "misurata": "Misrata", "مصراتة": "Misrata",
    "sirte": "Sirte", "surt": "Sirte", "سرت": "Sirte",
    "derna": "Derna", "darnah": "Derna", "درنة": "Derna",
    "sabha": "Sabha", "sebha": "Sabha", "سبها": "Sabha",
    "zawiya": "Zawiya", "zawiyah": "Zawiya", "الزاوية": "Zawiya",
    "murzuq": "Murzuq", "مرزق": "Murzuq",
    "ghat": "Ghat", "غات": "Ghat",
    "nalut": "Nalut", "نالوت": "Nalut",
    "kufra": "Kufra", "kufrah": "Kufra", "الكفرة": "Kufra",
    "jufra": "Jufra", "jufrah": "Jufra", "الجفرة": "Jufra",
    "marj": "Marj", "المرج": "Marj",
    "butnan": "Butnan", "البطنان": "Butnan",
    "jabal al akhdar": "Jabal al Akhdar", "الجبل الأخضر": "Jabal al Akhdar",
    "jabal al gharbi": "Jabal al Gharbi", "nafusa mountains": "Jabal al Gharbi", "الجبل الغربي": "Jabal al Gharbi",
    "jafara": "Jafara", "jfara": "Jafara", "الجفارة": "Jafara",
    "murqub": "Murqub", "marqab": "Murqub", "المرقب": "Murqub",
    "nuqat al khams": "Nuqat al Khams", "النقاط الخمس": "Nuqat al Khams",
    "wahat": "Wahat", "الواحات": "Wahat",
    "wadi al hayaa": "Wadi al Hayaa", "وادي الحياة": "Wadi al Hayaa",
    "wadi al shatii": "Wadi al Shatii", "wadi ash shati": "Wadi al Shatii", "وادي الشاطئ": "Wadi al Shatii",
}
"""Libya's 22 districts -> an English name (the city's, where the district bears it: "Tripoli", "Sirte")."""
# fmt: on

_PLACE_NOISE = re.compile(r"\b(governorate|province|muhafazat|countryside of|the)\b|\bمحافظه\b")


def _place_key(name: str) -> str:
    """Lower case, no "al-"/"as-" article, hyphens and "governorate" gone, spaces collapsed."""
    text = normalize(name).lower().replace("-", " ").replace("_", " ").replace("’", "'")
    text = _PLACE_NOISE.sub(" ", text)
    words = [w for w in text.split() if w not in ("al", "as", "ad", "ar", "el", "ash")]
    return " ".join(words)


COUNTRIES: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "Syria": (("Syria", "سوريا", "سورية", "Syrian Arab Republic"), GOVERNORATES),
    "Yemen": (("Yemen", "اليمن", "Republic of Yemen"), YEMEN),
    "Libya": (("Libya", "ليبيا", "State of Libya"), LIBYA),
}
"""The countries with a table of first-level divisions: the names articles and models give them, the table."""


@dataclass(frozen=True)
class _Table:
    names: frozenset[str]
    """The country's names, normalised, lower case."""
    lookup: dict[str, str]
    """:func:`_place_key` of each spelling -> the English name."""
    named: re.Pattern[str]
    """Any spelling, as a word of a longer place (after a clitic: "وبحلب")."""
    country_first: re.Pattern[str]
    """The country written before a place, possessive or not (FA-KES drops apostrophes: "Syrias")."""


def _table(names: tuple[str, ...], spellings: dict[str, str]) -> _Table:
    lookup = {_place_key(spelling): name for spelling, name in spellings.items()}
    own = frozenset(normalize(name).lower() for name in names)
    return _Table(
        names=own,
        lookup=lookup,
        named=re.compile(
            r"(?<!\w)(?:[وبلف]|[وف]ب|[وف]ل)?("
            + "|".join(sorted((re.escape(k) for k in lookup), key=len, reverse=True))
            + r")(?!\w)"
        ),
        country_first=re.compile(
            r"^(?:" + "|".join(map(re.escape, sorted(own, key=len, reverse=True))) + r")(?:'?s)?\s+(?=\S)"
        ),
    )


_TABLES = {country: _table(names, spellings) for country, (names, spellings) in COUNTRIES.items()}


def country_named(name: str | None) -> str | None:
    """The country with a table that ``name`` names ("اليمن", "Yemen" -> "Yemen"); ``None`` for any other."""
    key = normalize(name or "").lower().strip(" .,،")
    return next((country for country, table in _TABLES.items() if key in table.names), None)


def governorate(name: str | None, country: str = "Syria") -> str | None:
    """The English name of the ``country``'s first-level division a spelling names, ``None`` when it names none."""
    if not name:
        return None
    lookup = _TABLES[country].lookup
    key = _place_key(name)
    return lookup.get(key) or lookup.get(key.replace("'", ""))


_LIST = re.compile(r"\s+(?:and|&|و)\s+|\s*[,،/]\s*")
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


def governorate_named_in(place: str | None, country: str = "Syria") -> str | None:
    """The one governorate a place as written names ("Raqqa city", "ريف حلب الشمالي", "Aleppo, Syria"),
    ``None`` when it names none or several ("Aleppo and Damascus"), or puts the place beside one ("near Homs").

    A list of places ("Idlip and Aleppo") names one governorate only when each
    of its places names that governorate or is the country. The countryside of
    a city is its governorate, except Damascus's, which is Rif Dimashq.
    """
    if not place:
        return None
    table = _TABLES[country]
    found: set[str] = set()
    for part in filter(None, _LIST.split(normalize(place).lower().strip(" .,،"))):
        part = table.country_first.sub("", part)  # "Syria's Deir ez-Zor province" (FA-KES: "Syrias") is the province
        key = _place_key(part)
        named = {table.lookup[m.group(1)] for m in table.named.finditer(key)}
        if named and _NEAR.search(part) and not (len(named) == 1 and table.lookup.get(key)):
            return None  # "near Homs", "Damascus airport": beside the city, maybe not in its governorate
        if not named and key not in table.names:
            return None  # a place this table cannot place: the list may span governorates
        if named == {"Damascus"} and _BOTH.search(part):
            return None  # "Damascus province", "دمشق وريفها": the city, its countryside, or both
        if named == {"Damascus"} and _RURAL.search(part):
            named = {"Rif Dimashq"}
        found |= named
    return found.pop() if len(found) == 1 else None
