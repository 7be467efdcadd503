"""Conflict-event records: incidents, negotiations and personnel changes.

This module is the built-in *task* of llm_extract, exported as :data:`TASK`
(the engine never imports it by name; ``[task] name`` points at it, and it is
the default). Field choices follow ``docs/domain.md``:

* every record and every claim carries verbatim evidence, grounded by the engine;
* names, places, sources and date words *as written* are :data:`~llm_extract.grounding.ARTICLE_SPAN`
  (the article must contain them), and a date value must agree with its words (``DateOf``);
* counts are :data:`~llm_extract.grounding.Count`: ``None`` is *unknown*
  ("a number of wounded"), never 0, and a number must be stated in the
  evidence of the record that holds it;
* lists and strings are bounded, because small local models sample under a
  grammar built from this schema and unbounded fields make them slow and loop.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from llm_extract.schemas.places import country_named, governorate, governorate_named_in
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from llm_extract.evaluation.comparators import Aligned, All, Claims, Date, Exact, Names, Quotes, SetOf
from llm_extract.evaluation.comparators import Text as TextMatch
from llm_extract.evaluation.spec import EvaluationSpec, RecordSpec
from llm_extract.grounding import (
    ARTICLE_SPAN,
    Count,
    DateOf,
    Evidence,
    GroundedRecord,
    NumberLexicon,
    SourceText,
    Span,
    context_of,
    count_mentions,
    date_in,
    date_stated,
    iter_evidence,
    normalize,
    times_written,
    word_forms,
)
from llm_extract.task import Task, read_template

__all__ = [
    "COUNT_WORDS",
    "EVALUATION",
    "LEXICON",
    "TASK",
    "Actor",
    "ActorType",
    "Casualties",
    "ChangeType",
    "ConflictRecords",
    "DatePrecision",
    "EventDate",
    "EventType",
    "Incident",
    "Location",
    "MaterialLoss",
    "Negotiation",
    "NegotiationOutcome",
    "Participant",
    "PersonnelChange",
    "PersonnelClaim",
    "SubEventType",
    "Term",
]

Short = Annotated[str, Field(max_length=120)]
AsWritten = Annotated[Short, ARTICLE_SPAN]
"""A name, place or source as the article writes it: the engine checks the article contains it."""
PlaceWritten = Annotated[Short, Span(qualified_by=("country",))]
"""A place as written; a model that writes its country into it ("Syria Aleppo") has it cut by salvage."""
Text = Annotated[str, Field(max_length=300)]
EvidenceList = Annotated[
    list[Evidence],
    Field(min_length=1, max_length=4, description="Verbatim quotes from the article that support this."),
]


# --- number grounding: what states a count in these articles ----------------------------------

# fmt: off
LEXICON = NumberLexicon(
    # Nouns whose dual (-ين/-ان) means "two of them" and whose bare singular means one.
    dual_nouns=(
        "قتيل", "جريح", "مصاب", "عنصر", "شخص", "طفل", "شاب", "جندي", "رجل", "امراه", "امرات",
        "مدني", "ضابط", "اسير", "معتقل", "عسكري", "مقاتل", "سياره", "سيارت", "قيادي", "مواطن",
        "فتاه", "طفله", "سيده", "صحفي", "موظف", "عامل",
    ),
    singular_nouns=(
        "soldier", "civilian", "child", "man", "woman", "fighter", "member", "officer",
        "person", "resident", "commander", "gunman", "militant", "policeman", "boy", "girl", "journalist",
        "adult", "teenager", "worker", "employee", "doctor", "nurse", "farmer", "student", "guard",
    ),
    zero_phrases=("دون وقوع", "لا اصابات", "لم تسجل", "لم يسفر", "لم تسفر", "بلا اصابات", "عدم وقوع"),
    counted_nouns=(
        "people", "persons", "person", "civilians", "children", "kids", "women", "men", "soldiers", "fighters",
        "militants", "rebels", "troops", "members", "officers", "policemen", "police", "residents", "gunmen",
        "others", "jihadists", "insurgents", "combatants", "personnel", "guards", "servicemen", "worshippers",
        "students", "workers", "journalists", "doctors", "volunteers", "refugees", "prisoners", "detainees",
        "terrorists", "extremists", "commanders", "leaders",
        "أشخاص", "شخصا", "مدنيين", "مدنيا", "مدنيون", "عناصر", "عنصرا", "أطفال", "طفلا", "نساء", "رجال",
        "مقاتلين", "مقاتلا", "مقاتلون", "جنود", "جنديا", "آخرين", "آخرون", "مسلحين", "مسلحا", "مسلحون", "ضباط",
        "مواطنين", "مواطنا", "أفراد", "عسكريين", "عسكريا", "شبان", "معتقلين", "معتقلا", "أسرى",
    ),
)
# fmt: on
"""Casualty nouns and "no casualties" phrases, for grounding counts (``قتيلين`` states 2)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=False)


class EventType(StrEnum):
    """ACLED event types."""

    BATTLES = "Battles"
    VIOLENCE_AGAINST_CIVILIANS = "Violence against civilians"
    EXPLOSIONS_REMOTE_VIOLENCE = "Explosions/Remote violence"
    RIOTS = "Riots"
    PROTESTS = "Protests"
    STRATEGIC_DEVELOPMENTS = "Strategic developments"


class SubEventType(StrEnum):
    """ACLED sub-event types (the codebook's 25)."""

    ARMED_CLASH = "Armed clash"
    GOVERNMENT_REGAINS_TERRITORY = "Government regains territory"
    NON_STATE_ACTOR_OVERTAKES_TERRITORY = "Non-state actor overtakes territory"
    SEXUAL_VIOLENCE = "Sexual violence"
    ATTACK = "Attack"
    ABDUCTION_FORCED_DISAPPEARANCE = "Abduction/forced disappearance"
    CHEMICAL_WEAPON = "Chemical weapon"
    AIR_DRONE_STRIKE = "Air/drone strike"
    SUICIDE_BOMB = "Suicide bomb"
    SHELLING_ARTILLERY_MISSILE_ATTACK = "Shelling/artillery/missile attack"
    REMOTE_EXPLOSIVE_LANDMINE_IED = "Remote explosive/landmine/IED"
    GRENADE = "Grenade"
    VIOLENT_DEMONSTRATION = "Violent demonstration"
    MOB_VIOLENCE = "Mob violence"
    PEACEFUL_PROTEST = "Peaceful protest"
    PROTEST_WITH_INTERVENTION = "Protest with intervention"
    EXCESSIVE_FORCE_AGAINST_PROTESTERS = "Excessive force against protesters"
    AGREEMENT = "Agreement"
    ARRESTS = "Arrests"
    CHANGE_TO_GROUP_ACTIVITY = "Change to group/activity"
    DISRUPTED_WEAPONS_USE = "Disrupted weapons use"
    HEADQUARTERS_OR_BASE_ESTABLISHED = "Headquarters or base established"
    LOOTING_PROPERTY_DESTRUCTION = "Looting/property destruction"
    NON_VIOLENT_TRANSFER_OF_TERRITORY = "Non-violent transfer of territory"
    OTHER = "Other"


_S = SubEventType
EVENT_TYPE_OF: dict[SubEventType, EventType] = {
    **dict.fromkeys(
        (_S.ARMED_CLASH, _S.GOVERNMENT_REGAINS_TERRITORY, _S.NON_STATE_ACTOR_OVERTAKES_TERRITORY), EventType.BATTLES
    ),
    **dict.fromkeys(
        (_S.SEXUAL_VIOLENCE, _S.ATTACK, _S.ABDUCTION_FORCED_DISAPPEARANCE), EventType.VIOLENCE_AGAINST_CIVILIANS
    ),
    **dict.fromkeys(
        (
            _S.CHEMICAL_WEAPON,
            _S.AIR_DRONE_STRIKE,
            _S.SUICIDE_BOMB,
            _S.SHELLING_ARTILLERY_MISSILE_ATTACK,
            _S.REMOTE_EXPLOSIVE_LANDMINE_IED,
            _S.GRENADE,
        ),
        EventType.EXPLOSIONS_REMOTE_VIOLENCE,
    ),
    **dict.fromkeys((_S.VIOLENT_DEMONSTRATION, _S.MOB_VIOLENCE), EventType.RIOTS),
    **dict.fromkeys(
        (_S.PEACEFUL_PROTEST, _S.PROTEST_WITH_INTERVENTION, _S.EXCESSIVE_FORCE_AGAINST_PROTESTERS), EventType.PROTESTS
    ),
    **dict.fromkeys(
        (
            _S.AGREEMENT,
            _S.ARRESTS,
            _S.CHANGE_TO_GROUP_ACTIVITY,
            _S.DISRUPTED_WEAPONS_USE,
            _S.HEADQUARTERS_OR_BASE_ESTABLISHED,
            _S.LOOTING_PROPERTY_DESTRUCTION,
            _S.NON_VIOLENT_TRANSFER_OF_TERRITORY,
            _S.OTHER,
        ),
        EventType.STRATEGIC_DEVELOPMENTS,
    ),
}
"""ACLED's taxonomy: each sub-event type belongs to exactly one event type (an air strike is remote violence,
whoever it kills)."""


class DatePrecision(StrEnum):
    DAY = "day"
    MONTH = "month"
    YEAR = "year"
    UNKNOWN = "unknown"


_PRECISION_OF_VALUE = (DatePrecision.YEAR, DatePrecision.MONTH, DatePrecision.DAY)
"""A value's precision by its number of dashes: the pattern allows YYYY, YYYY-MM and YYYY-MM-DD only."""


class EventDate(_Model):
    """A date as the article gives it, resolved as far as the text allows."""

    text: AsWritten = Field(description="The article's own words that say when, copied exactly; '' if it says nothing.")
    value: Annotated[str | None, DateOf("text")] = Field(
        default=None,
        pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$",
        description="ISO date to the stated precision: YYYY-MM-DD, YYYY-MM or YYYY; "
        "resolve 'this month' against the publication date; null if unresolvable.",
    )
    precision: DatePrecision = DatePrecision.UNKNOWN

    @model_validator(mode="after")
    def _value_from_words(self, info: ValidationInfo) -> EventDate:
        """Date words "8 October 2017" state 2017-10-08, even when the model left the value null.

        Small models copy the date words and leave the value empty. During
        extraction (``model_answer``) the value the words state without doubt,
        resolved against the publication date, is filled in (see :func:`date_stated`).
        A value written with precision "unknown" takes the precision its own
        shape states, so a right day is not scored as half a date.
        """
        ctx = context_of(info)
        if not ctx or not ctx.get("model_answer"):
            return self
        if self.value is not None:
            if self.precision is DatePrecision.UNKNOWN:  # "2018-02-27", precision "unknown": the value says day
                self.precision = _PRECISION_OF_VALUE[self.value.count("-")]
            return self
        if not self.text:
            return self
        published = ctx.get("published")
        read = date_stated(self.text, published if isinstance(published, str) else None)
        if read is not None:
            self.value, self.precision = read[0], DatePrecision(read[1])
        return self


def _dated_by_quotes(date: EventDate, evidence: Sequence[Evidence], info: ValidationInfo) -> EventDate:
    """The date a record's own quotes state, when the model wrote neither date words nor a value.

    Small models leave the date empty under a quote that dates the event
    ("ووصل غريفيث السبت إلى صنعاء"). During extraction (``model_answer``),
    when the record's quotes state one date between them (:func:`date_in`),
    those words and their value become its date; two dates, or none, leave it.
    """
    ctx = context_of(info)
    if not ctx or not ctx.get("model_answer"):
        return date
    written = normalize(date.text).strip()
    outside = bool(written) and not any(written in normalize(e.quote) for e in evidence)
    if date.text and not outside:
        return date
    published = ctx.get("published") if isinstance(ctx.get("published"), str) else None
    read = {got[1]: got for e in evidence if (got := date_in(e.quote, published))}
    if len(read) != 1 or date.value in read:
        return date
    words, value, precision = next(iter(read.values()))
    return EventDate.model_validate({"text": words, "value": value, "precision": precision}, context=ctx)


class Location(_Model):
    as_written: PlaceWritten = Field(description="Place name exactly as in the article.")
    normalized: Short | None = Field(default=None, description="Latin transliteration, e.g. 'Jasim'.")
    admin1: Short | None = Field(default=None, description="Governorate/province in English, e.g. 'Daraa'.")
    admin2: Short | None = Field(default=None, description="District, only where stated.")
    country: Short | None = None

    @model_validator(mode="after")
    def _governorate_from_place(self, info: ValidationInfo) -> Location:
        """A place written "Raqqa province" or "ريف حلب" is in that governorate, whatever admin1 the model wrote.

        Small models put the country in ``admin1`` ("Syria", 17 of 20 FA-KES
        incidents) and the governorate in ``admin2`` or nowhere. During
        extraction (``model_answer``) the one governorate the place as written
        names (see :func:`governorate_named_in`) becomes ``admin1``: the
        article's words outrank the model's inference. Else a governorate the
        model wrote in other words ("حماة", or a whole phrase ending "بريف درعا
        الشمالي", 3 of 29 matched dev incidents) becomes the table's English
        name, which the field asks for. A country written as ``admin1`` ("Syria",
        "Yemen" beside ``country`` "Yemen") is none: it would reach an ACLED
        export as a province. A place written as a governorate's own name
        ("القنيطرة", "Idlib") and left without ``normalized`` (the 1.5B model
        never fills it) is normalized to the table's English name. In Syria an
        ``admin1`` that is none of its 14 governorates ("Eastern Ghouta", the
        seed's misspelt "الدارعا") is unknown. A record that names Yemen or
        Libya is read the same way through that country's table
        (:data:`llm_extract.schemas.places.COUNTRIES`: "الحديدة" is Al
        Hudaydah, a camp "بالعاصمة طرابلس" with admin1 "trablagh" is in
        Tripoli), and its ``country`` is written in English ("اليمن" is Yemen); a
        record of another named country stays as the model wrote it.
        """
        ctx = context_of(info)
        if not ctx or not ctx.get("model_answer"):
            return self
        written = (self.admin1 or "").strip(" .,،")
        if written and (country_named(written) or normalize(written).lower() == normalize(self.country or "").lower()):
            self.country = self.country or written  # a country is no governorate
            self.admin1 = None
        country = country_named(self.country) if self.country else "Syria"  # the corpus is Syria first
        if country is None:
            return self  # "near Daraa" in Jordan is not in Daraa governorate; Iraq has no table here
        if self.country:
            self.country = country  # "اليمن" is Yemen: the English name an ACLED export's ISO code is found by
        # The place's own words first; else the governorate the model wrote in other words ("حماة", or a
        # sentence such as "... مدينة جاسم بريف درعا الشمالي"), as the table's English name.
        named = governorate_named_in(self.as_written, country) or governorate_named_in(self.admin1, country)
        if named is not None and self.admin1 != named:
            self.admin1 = named
            self.country = self.country or country
        if not self.normalized:  # "حلب", "Idlib": the place is a governorate's own name, its English one
            self.normalized = governorate(self.as_written, country)
        if self.admin1 and self.country and governorate(self.admin1, country) is None:
            self.admin1 = None  # Syria has 14 governorates: "Eastern Ghouta", "الدارعا" are none of them
        return self


class ActorType(StrEnum):
    STATE_FORCES = "state_forces"
    STATE_SECURITY = "state_security"
    MILITIA = "militia"
    REBELS = "rebels"
    FORMER_REBELS = "former_rebels"
    FOREIGN_FORCE = "foreign_force"
    CIVILIANS = "civilians"
    LOCAL_NOTABLES = "local_notables"
    POLITICAL = "political"
    OTHER = "other"


class Actor(_Model):
    name: AsWritten = Field(description="Name as written in the article.")
    name_en: Short | None = Field(default=None, description="English/Latin normalised name.")
    type: ActorType = ActorType.OTHER
    parent_organization: Short | None = Field(
        default=None, description="Parent organisation where given, e.g. '5th Corps'."
    )
    backed_by: Short | None = Field(default=None, description="Foreign backer where given, e.g. 'Russia'.")


# fmt: off
COUNT_WORDS: dict[str, tuple[str, ...]] = {
    "killed": (
        "killed", "kill", "kills", "killing", "dead", "died", "dies", "death", "deaths", "toll", "lives",
        "fatalities", "perished", "martyred",
        "قتل", "مقتل", "قتلى", "قتيل", "قتيلا", "قتلوا", "مصرع", "استشهاد", "استشهد", "شهيد", "شهداء", "وفاة",
        "مصرعهم", "مصرعه", "مصرعها", "مصرعهما", "حتفهم", "حتفه", "حتفها", "حتفهما",  # لقي 4 أشخاص مصرعهم
    ),
    "wounded": (
        "wounded", "wounding", "injure", "injures", "injured", "injuring", "injuries", "hurt",
        "جرح", "جرحى", "جريح", "جريحا", "إصابة", "إصابات", "مصاب", "مصابين", "أصيب", "أصيبوا",
    ),
    "captured": (
        "captured", "capturing", "detained", "arrested", "abducted", "kidnapped",
        "وأسر", "أسرى", "أسير", "اعتقال", "اعتقل", "احتجاز", "اختطاف", "خطف",
    ),
    "released": ("released", "freed", "الإفراج", "أفرج", "سراح"),
}
# fmt: on
"""The words that say what a count counts: a null count is read from its record's quote through them."""


# fmt: off
EVENT_STEMS: tuple[str, ...] = (
    "kill", "dead", "died", "death", "toll", "wound", "injur", "casualt", "attack", "strike", "airstrike", "raid",
    "shell", "bomb", "explo", "blast", "clash", "fight", "fought", "ambush", "assassin", "rocket", "missile",
    "mortar", "barrel", "gunm", "gunfire", "shot", "shoot", "sniper", "execut", "massacre", "offensive", "seiz",
    "storm", "target", "mine", "landmine", "ied", "warplane", "jet", "hit", "thwart", "recaptur", "captur",
    "arrest", "detain", "abduct", "kidnap", "battle", "siege", "besieg", "protest", "riot", "demonstrat", "violen",
    "قتل", "قتيل", "مصرع", "استشهد", "شهيد", "شهداء", "جرح", "جريح", "اصاب", "اصيب", "هجوم", "هجم", "قصف", "غاره",
    "غارات", "انفجار", "تفجير", "انفجر", "اشتباك", "اشتبك", "مواجه", "كمين", "اغتيال", "اغتيل", "صاروخ", "صواريخ",
    "قذيف", "قذائف", "براميل", "رصاص", "استهداف", "استهدف", "مداهم", "اعتقال", "اعتقل", "تعتقل", "اختطاف", "خطف",
    "معارك", "معركه", "سيطر", "اعدام", "لغم", "الغام", "عبوه", "ناسف", "مفخخ", "تحرير", "حمله عسكريه", "متظاهر",
    "احتجاج", "تظاهر", "اودى بحياه", "طائرات", "مسلح",
)
"""Beginnings of words that name a violent or security event (English: a word starting so; Arabic: anywhere
in a word, so that قصفت, هجوما and وتعتقل count): an incident whose quotes hold none is not one."""

MEETING_STEMS: tuple[str, ...] = (
    "meet", "met ", "talk", "agree", "deal", "truce", "ceasefire", "negotiat", "mediat", "reconcil",
    "settlement", "summit", "conference", "accord ", "accords", "pact", "evacuat", "sign", "allow", "corridor",
    "cooperat", "visit", "اجتماع(?!ي)", "اجتمع", "مفاوض", "تفاوض", "يوقع", "اتفاق", "اتفق", "هدنه",
    "وقف", "تسويه", "مصالح", "وساط", "لقاء", "التقى", "التقي", "محادثات", "مباحثات", "قمه", "مؤتمر",
    "موتمر", "توقيع", "وقع", "تفاهم", "ممر", "اجلاء", "خروج", "زيار", "دعت", "commitment", "pledg", "التزام",
    "التزم", "تلتزم", "يلتزم",
)
"""Beginnings of words that name a meeting, talks, an agreement, an offer or a commitment, each the start of a word
(:func:`_word_starts`: مواقع, sites, is not وقع, signed; الاجتماعي, social, is not a meeting): a negotiation
whose quotes hold none is not one."""

DEATH_STEMS: tuple[str, ...] = (
    "kill", "slain", "died", "dead", "death", "assassin", "martyr",
    "قتل", "مقتل", "مصرع", "اغتيال", "اغتيل", "استشهاد", "استشهد", "وفاه", "توفي",
)
"""The words of :data:`CHANGE_STEMS` that name a death."""

CHANGE_STEMS: tuple[str, ...] = (
    *DEATH_STEMS,
    "appoint", "named", "dismiss", "sack", "replac", "resign", "promot", "demot", "transfer", "reassign",
    "arrest", "detain", "captur", "abduct", "kidnap",
    "releas", "freed", "defect", "succeed", "successor", "took over", "became", "sentenc", "jail", "prison",
    "retire", "elected", "sworn", "step down", "stepped down", "oust", "remov", "relieved", "exile", "post",
    "عين", "تعيين", "يعين", "خلف", "يخلف", "اقال", "يقيل", "اقاله", "اعفاء", "اعفي", "ينهي", "انهاء", "تنحي", "تنحيه",
    "استقال", "رقي", "ترقي", "ترقيه", "ترفيع", "نقل", "حولت", "حوله", "اعتقال", "اعتقل", "القبض", "قبض", "اسر",
    "خطف", "اختطاف", "افراج",
    "افرج", "سراح", "انشق", "اصبح", "تدرج", "منصب", "مناصب", "حكم", "سجن", "تولي", "تسلم", "كلف", "تكليف",
)
"""Beginnings of words that name a change of post, a death, a capture or a release, each the start of a word
(:func:`_word_starts`; "حول", "about", is left out for "حولت", "transferred"): a personnel change whose quotes
hold none is not one."""

WAR_WORDS: tuple[str, ...] = (
    r"wars?", "warfare", r"conflicts?", r"truces?", r"cease-?fires?", "armed", r"militias?", r"rebels?",
    r"insurgen\w*", r"jihad\w*", r"terror\w*", "troops", "army", "armies", r"militants?", "opposition",
    "حرب", "نزاع", "صراع", "هدنه", "اطلاق النار", "ميليشي", "مليشي", "فصائل", "متمرد", "ارهاب", "جيش", "قوات",
    "معارضه",
)
"""Words that, beside :data:`EVENT_STEMS`, place an article in an armed conflict: a war, a truce, an army, an
armed group or an opposition (English: whole words, as regular expressions; Arabic: anywhere in a word)."""
# fmt: on


# fmt: off
REPORTER_WORDS: tuple[str, ...] = (
    "observatory", "monitoring group", r"news agenc(?:y|ies)", "press agency", "media", "tv", "television",
    r"channels?", r"correspondents?", r"reporters?", r"journalists?", "sana", "afp", "reuters", "sputnik",
    "associated press",
    "مرصد", "وكاله الانباء", "وكاله انباء", "مراسل", "تلفزيون", "قناه", "اعلام", "صحيفه", "سانا", "رويترز",
    "سبوتنيك",
)
"""Words that name who tells of an event, not who takes part in it: a monitor, an agency, a channel, a reporter
(English: whole words, as regular expressions; Arabic: the start of a word after its clitics)."""
# fmt: on

_ARABIC_WORD_START = r"(?<![^\W\d_])[وف]?[بلك]?(?:ال|ل)?"
"""Where an Arabic stem may start: a word's start, after its clitics (و ف, then ب ل ك, then the article)."""

_REPORTERS = re.compile(
    rf"\b(?:{'|'.join(w for w in REPORTER_WORDS if w.isascii())})\b"
    rf"|{_ARABIC_WORD_START}(?:{'|'.join(normalize(w) for w in REPORTER_WORDS if not w.isascii())})"
)


def _reports(actor: Actor) -> bool:
    """Whether ``actor`` is named as a source of the news ("Syrian Observatory for Human Rights", "state TV")."""
    return any(_REPORTERS.search(normalize(name).lower()) for name in (actor.name, actor.name_en or ""))


def _stems(stems: tuple[str, ...]) -> re.Pattern[str]:
    latin = [re.escape(s) for s in stems if s.isascii()]
    arabic = [re.escape(normalize(s)) for s in stems if not s.isascii()]
    return re.compile(rf"\b(?:{'|'.join(latin)})|(?:{'|'.join(arabic)})")


# fmt: off
WEAPON_STEMS: dict[SubEventType, tuple[str, ...]] = {
    SubEventType.SUICIDE_BOMB: (
        "suicide bomb", "suicide attack", "suicide car", "suicide truck", "suicide belt", "suicide vest",
        "suicide blast", "suicide explosion", "انتحاري",
    ),
    SubEventType.AIR_DRONE_STRIKE: (
        "airstrike", "air strike", "air-strike", "air raid", "air-raid", "airraid", "warplane", "war plane", "plane",
        "aircraft", "jet", "helicopter", "drone", "aerial bomb", "barrel bomb", "غاره", "غارات", "طيران", "طائرات",
        "طائره", "مروحي", "جوي", "براميل متفجر", "برميل متفجر",
    ),
    SubEventType.REMOTE_EXPLOSIVE_LANDMINE_IED: (
        "car bomb", "car-bomb", "ied", "landmine", "land mine", "explosive device", "roadside bomb", "booby",
        "عبوه", "ناسف", "لغم", "الغام(?![^\\W\\d_])", "مفخخ",
    ),
    SubEventType.SHELLING_ARTILLERY_MISSILE_ATTACK: (
        "shells", "shelled", "shelling", "artillery", "mortar", "rocket", "missile", "katyusha", "مدفعي", "قذيف",
        "قذائف", "هاون", "صاروخ", "صواريخ", "كاتيوشا", "راجم",
    ),
    SubEventType.ARMED_CLASH: (
        "clash", "gunfight", "firefight", "اشتباك", "اشتبك", "معارك", "معركه",
    ),
}
"""Words that name how an incident was fought, most telling first: a suicide bomber's car bomb is a suicide
bomb, and planes that fire rockets make an air strike (ACLED's rules). English stems start a word; Arabic ones
start a word after its clitics (و ف ب ل ك ال), so إغارة (a ground raid) and يتهاونوا are not غارة and هاون."""

NOT_WEAPONS: tuple[tuple[str, str], ...] = (
    (r"\bsuicide drones?\b", "drone"), (r"مسير\w* انتحاري\w*", "طائره"), (r"\banti[- ]aircraft\b", " "),
    (r"\bshell compan\w*", " "), (r"\bno[- ]fly\b", " "),
    (r"(?:مضاد\w*|دفاع\w*|حظر|شرك\w*|خطوط|رحلات|مطار\w*|جسر|مجال|النقل) (?:لل|ال|ل)?(?:طيران|جوي\w*)", " "),
)
"""Phrases that name a weapon's word without its use, removed before :data:`WEAPON_STEMS` are looked for:
anti-aircraft guns fire from the ground, an airline (شركة طيران) is no air strike, a suicide drone is a drone."""
# fmt: on


def _word_starts(stems: tuple[str, ...]) -> re.Pattern[str]:
    """English stems that start a word; Arabic ones that start a word after its clitics (و ف ب ل ك ال)."""
    latin = [re.escape(s) for s in stems if s.isascii()]
    arabic = [s if "(" in s else re.escape(normalize(s)) for s in stems if not s.isascii()]
    return re.compile(rf"\b(?:{'|'.join(latin)})|{_ARABIC_WORD_START}(?:{'|'.join(arabic)})")


_WEAPONS = {sub: _word_starts(stems) for sub, stems in WEAPON_STEMS.items()}
_CHANGES = _word_starts(CHANGE_STEMS)
_NOT_WEAPONS = [(re.compile(pattern), repl) for pattern, repl in NOT_WEAPONS]
_EXPLOSIONS = frozenset(sub for sub in WEAPON_STEMS if EVENT_TYPE_OF[sub] is EventType.EXPLOSIONS_REMOTE_VIOLENCE)
_OVERRIDABLE = _EXPLOSIONS | {SubEventType.ATTACK, SubEventType.ARMED_CLASH}
"""Sub-event types the quotes' weapon words may replace: the ways of fighting the model confuses. Never a
chemical weapon or a grenade (their own codes), nor a strategic development."""
_REMOTE = _word_starts(
    (
        *(stem for sub, stems in WEAPON_STEMS.items() if sub in _EXPLOSIONS for stem in stems),
        *("explo", "blast", "bomb", "detonat", "strike", "struck", "raid", "shell", "launch", "fired at", "hit"),
        *("انفجار", "تفجير", "انفجر", "فجر", "قصف", "استهداف", "استهدف", "سقوط", "سقط", "اطلاق"),
    )
)
"""Words that name a weapon, an explosion or a strike: quotes without any tell of no remote violence."""
_GROUND_FIGHT = _word_starts(
    (
        *("fight", "fought", "thwart", "repel", "repuls", "battle", "clash", "ambush", "storm"),
        *("اشتباك", "اشتبك", "معارك", "معركه", "تصدى", "تصدت", "احبط", "كمين", "مواجه"),
    )
)


def _fought_on_the_ground(quotes: str) -> bool:
    """Whether ``quotes`` tell of a fight (:data:`_GROUND_FIGHT`) and name no remote violence (:data:`_REMOTE`)."""
    text = normalize(quotes).lower()
    return bool(_GROUND_FIGHT.search(text)) and not _REMOTE.search(text)


_CROWDS = frozenset(sub for sub in EVENT_TYPE_OF if EVENT_TYPE_OF[sub] in (EventType.PROTESTS, EventType.RIOTS))
_CROWD_WORDS = _stems(("protest", "riot", "demonstrat", "crowd", "متظاهر", "احتجاج", "تظاهر", "مظاهر", "شغب"))
"""A protest or riot sub-event type is replaced by the weapon the quotes name when they name no crowd: the
1.5B model wrote "Excessive force against protesters" for "an explosive device went off … killing six"."""


def sub_event_named(quotes: str) -> SubEventType | None:
    """The sub-event type the words of ``quotes`` name without doubt, or ``None``.

    A suicide bomber or an aircraft decides whatever else the quotes name;
    otherwise exactly one of a bomb, shelling or a clash must be named
    ("clashes and shelling" names two, and stays as the model wrote it).
    """
    text = normalize(quotes).lower()
    for pattern, repl in _NOT_WEAPONS:
        text = pattern.sub(repl, text)
    named = [sub for sub, pattern in _WEAPONS.items() if pattern.search(text)]
    if not named:
        return None
    if named[0] in (SubEventType.SUICIDE_BOMB, SubEventType.AIR_DRONE_STRIKE) or len(named) == 1:
        return named[0]
    return None


_EVENT = _stems(EVENT_STEMS)
_POSTS = _word_starts(
    (
        *("appoint", "dismiss", "sack", "resign", "promot", "demot", "reassign", "sworn in", "step down"),
        *("تعيين", "يعين", "اقال", "يقيل", "اقاله", "اعفاء", "اعفي", "استقال", "ترقيه", "تكليف"),
    )
)
"""Words that name a change of post and nothing violent (not a death or an arrest, which :data:`CHANGE_STEMS` hold)."""
_DEATHS = _word_starts(DEATH_STEMS)
_NOT_DEATHS = _word_starts(tuple(stem for stem in CHANGE_STEMS if stem not in DEATH_STEMS))
_CAPTURES = _word_starts(COUNT_WORDS["captured"])
_STRATEGIC = EventType.STRATEGIC_DEVELOPMENTS
_MEETING = _word_starts(MEETING_STEMS)
_PEACEFUL = "the article names no fighting, war, truce, army or armed group: no talks between parties to a conflict"
"""Why a negotiation in such an article is dropped: a sports page's "rapprochement shown by officials' visits"
is diplomacy, not talks of an armed conflict. (An incident needs a violent word in its own quotes already; a
change of post stays, since an intelligence chief's appointment may be told without a word of war.)"""


def _names_no_conflict(text: str) -> bool:
    """Whether an article names no violent event and none of :data:`WAR_WORDS` (see :data:`_PEACEFUL`)."""
    article = normalize(text).lower()
    return not (_EVENT.search(article) or _WAR.search(article))


_WAR = re.compile(
    rf"\b(?:{'|'.join(w for w in WAR_WORDS if w.isascii())})\b"
    rf"|(?:{'|'.join(re.escape(normalize(w)) for w in WAR_WORDS if not w.isascii())})"
)


_OTHERS = frozenset(normalize(w) for w in ("others", "other", "آخرين", "آخرون", "أخرى"))
"""Counted nouns that point back ("21 others were wounded"): they name no side."""


_AGENT_VERBS = {
    "killed": r"kill|kills|killed|killing",
    "wounded": r"wound|wounds|wounded|wounding|injure|injures|injured|injuring",
}
"""English verbs whose subject does the killing or wounding: "rebels killed 14 people"."""
_WEAPON_NOUNS = (
    r"air\s*raids?|air\s*strikes?|airstrikes?|shelling|shells|fire|gunfire|rockets?|missiles?|mortars?"
    r"|bombardment|bombing|strikes?|planes?|warplanes?|jets?|helicopters?|snipers?|drones?"
)
"""English nouns of a weapon or an attack whose owner, written right before, did the killing: "regime air raids"."""
_HOLDS = re.compile(r"\b[^\W\d_]+-(?:held|controlled|run)\b")
"""A side written as a place's holder ("a rebel-held area") names where, not who lost."""


def _does(side: str, kind: str, quotes: str) -> bool:
    """Whether ``quotes`` write ``side`` as the one that did the count's harm ("government forces of killing").

    Only the side's last word, right before the verb (or "of" and the
    verb) or right before a weapon (:data:`_WEAPON_NOUNS`: "killed in regime
    air raids"), makes it the doer: in "two trucks of the regime forces were
    killed" and "evacuees from the pro-regime areas killing more than 120"
    the losses stay the side's.
    """
    verbs = _AGENT_VERBS.get(kind)
    words = re.findall(r"[^\W\d_]+", side.lower())
    if verbs is None or not words:
        return False
    doer = rf"\b{re.escape(words[-1])}\s+(?:(?:of\s+)?(?:{verbs})|(?:{_WEAPON_NOUNS}))\b"
    return re.search(doer, quotes.lower()) is not None


_NO_LOSSES = (
    (re.compile(r"\bno (?:casualties|one was (?:hurt|harmed))\b|\bwithout casualties\b"), ("killed", "wounded")),
    (re.compile(r"\bno (?:deaths|fatalities|one was killed)\b"), ("killed",)),
    (re.compile(r"\bno (?:injuries|one was (?:injured|wounded))\b"), ("wounded",)),
    (
        re.compile(
            r"(?:دون|عدم) وقوع (?:اي )?(?:اصابات|ضحايا)"
            r"|لم (?:يسفر|تسفر|تسجل|يسجل) (?:عن )?(?:وقوع )?(?:اي )?(?:اصابات|ضحايا)"
        ),
        ("killed", "wounded"),
    ),
)
"""What "No casualties were reported" and "دون وقوع إصابات" state: these counts are 0 (normalised text)."""


class Casualties(GroundedRecord):
    """Losses of one side. ``None`` = unknown; a number must be stated in ``evidence``."""

    side: Short = Field(description="Whose losses, as the article names them.")
    side_en: Short | None = None
    killed: Count = None
    wounded: Count = None
    captured: Count = None
    released: Count = None
    evidence: EvidenceList

    number_lexicon: ClassVar[NumberLexicon | None] = LEXICON
    count_words: ClassVar[dict[str, tuple[str, ...]]] = COUNT_WORDS

    @model_validator(mode="after")
    def _side_from_quote(self, info: ValidationInfo) -> Casualties:
        """Losses quoted as "Four civilians were killed" are the civilians', whatever side the model named.

        Small models name the side from the article's politics ("regime",
        "government") rather than from the losses' own quote, or name the
        side that did the killing ("Syrian rebels" for "rebels killed at least
        14 people"). During extraction (``model_answer``), a side the quote
        writes as the doer of the count's harm (:func:`_does`) becomes the
        noun the quote counts; otherwise a side none of whose words the quotes
        hold (but as a place's holder, "a regime-held area") becomes the noun
        the quote counts, as the incident's own reader names it. A quote that
        counts no noun leaves the model's side.
        """
        ctx = context_of(info)
        if not ctx or not ctx.get("model_answer"):
            return self
        quotes = " ".join(e.quote for e in self.evidence)
        mentions = count_mentions(quotes, COUNT_WORDS, _lexicon(ctx))
        nouns: dict[str, str] = {}
        for kind, m in mentions.items():
            if m.noun is not None and normalize(m.noun).lower() not in _OTHERS:
                nouns[kind] = m.noun
        side = {w for w in word_forms(self.side) if len(w) > 2}
        # "Syrian rebels killed at least 14 people": the quote names the rebels, but the 14 are people.
        for kind, noun in nouns.items():
            if getattr(self, kind) == mentions[kind].value and _does(self.side, kind, quotes):
                self.side, self.side_en = noun[:120], None
                return self
        if side & word_forms(_HOLDS.sub(" ", quotes)):
            return self
        counted = next(iter(nouns.values()), None)
        if counted is not None:
            self.side, self.side_en = counted[:120], None
        return self

    @model_validator(mode="after")
    def _none_quoted(self, info: ValidationInfo) -> Casualties:
        """A side quoted as "No casualties were reported" lost 0 killed and 0 wounded, not an unknown number.

        The model leaves the counts empty under such a quote; the gold (and
        ACLED) record 0. During extraction (``model_answer``), a side with no
        count at all takes 0 for each count its quotes say none of.
        """
        ctx = context_of(info)
        if not ctx or not ctx.get("model_answer") or any(getattr(self, k) is not None for k in COUNT_WORDS):
            return self
        quotes = normalize(" ".join(e.quote for e in self.evidence)).lower()
        for pattern, kinds in _NO_LOSSES:
            if pattern.search(quotes):
                for kind in kinds:
                    setattr(self, kind, 0)
        return self


class MaterialLoss(GroundedRecord):
    description: Short = Field(description="What was lost, in English, e.g. 'military vehicles disabled'.")
    side: Short | None = None
    quantity: Count = None
    evidence: EvidenceList

    number_lexicon: ClassVar[NumberLexicon | None] = LEXICON


def _lexicon(ctx: dict[str, Any]) -> NumberLexicon:
    """The lexicon the engine grounds numbers with (the task's), or this module's when a caller gave none."""
    found = ctx.get("lexicon")
    return found if isinstance(found, NumberLexicon) else LEXICON


def _same_loss(a: Casualties, b: Casualties, lexicon: NumberLexicon) -> bool:
    """Whether two sides are one loss written twice: the same counts, and the same side and quotes, or a
    quote in common that writes each of those counts once (so it cannot count two groups)."""
    counts = [getattr(a, kind) for kind in COUNT_WORDS]
    if counts != [getattr(b, kind) for kind in COUNT_WORDS]:
        return False
    quotes_a, quotes_b = ({normalize(e.quote) for e in s.evidence} for s in (a, b))
    if normalize(a.side) == normalize(b.side) and quotes_a == quotes_b:
        return True
    stated = [n for n in counts if n is not None]
    return bool(stated) and any(
        all(times_written(n, quote, lexicon) == 1 for n in stated) for quote in quotes_a & quotes_b
    )


def _says_less(a: Casualties, b: Casualties) -> bool:
    """Whether ``a`` is ``b`` with less said: the same side, and each count ``a`` states ``b`` states alike."""
    if normalize(a.side).lower() != normalize(b.side).lower():
        return False
    return all(getattr(a, kind) is None or getattr(a, kind) == getattr(b, kind) for kind in COUNT_WORDS)


MAX_SIDES = 4
"""The most sides an incident's casualties list holds, a count read from a quote included."""


class Incident(_Model):
    """A violent or security event (ACLED-typed)."""

    date: EventDate
    location: Location
    event_type: EventType
    sub_event_type: SubEventType
    actors: list[Actor] = Field(default_factory=list, max_length=6)
    casualties: list[Casualties] = Field(default_factory=list, max_length=MAX_SIDES)
    material_losses: list[MaterialLoss] = Field(default_factory=list, max_length=4)
    summary: Text = Field(description="One or two sentences in English.")
    evidence: EvidenceList

    @model_validator(mode="after")
    def _date_from_quotes(self, info: ValidationInfo) -> Incident:
        """See :func:`_dated_by_quotes`."""
        self.date = _dated_by_quotes(self.date, self.evidence, info)
        return self

    @model_validator(mode="after")
    def _event_type_of_sub_event(self, info: ValidationInfo) -> Incident:
        """An "Air/drone strike" is "Explosions/Remote violence", even when the model wrote another event type.

        Small models pick "Violence against civilians" for nearly every incident
        that kills civilians, and then a sub-event type of another event type
        (19 of 19 FA-KES incidents). ACLED defines each sub-event type under one
        event type (:data:`EVENT_TYPE_OF`), and the sub-event type is the more
        specific choice, so during extraction (``model_answer``) it decides when
        the model wrote that event type. Other mismatches ("Battles" with
        "Attack", an attack on soldiers) stay as written: there the event type
        may be the right half.

        The weapon the incident's own quotes name outranks the model's
        sub-event type (:func:`sub_event_named`): the 1.5B model wrote
        "Remote explosive/landmine/IED" for air strikes and shelling alike.
        Quotes that tell of a fight and name no weapon, explosion or strike
        (:func:`_fought_on_the_ground`) are an armed clash: "the army … thwarted
        an attack by terrorists …, killing two commanders" was typed an IED.
        """
        ctx = context_of(info)
        if not ctx or not ctx.get("model_answer"):
            return self
        quotes = " ".join(e.quote for e in iter_evidence(self))
        named = sub_event_named(quotes)
        was = SubEventType(self.sub_event_type)
        no_crowd = was in _CROWDS and not _CROWD_WORDS.search(normalize(quotes).lower())
        # A clash word replaces only an explosion: "since the 2018 battles" does not make an assassination one.
        replaces = no_crowd or (was in _OVERRIDABLE and (named is not SubEventType.ARMED_CLASH or was in _EXPLOSIONS))
        if named is not None and replaces and named != was:
            self.sub_event_type, self.event_type = named, EVENT_TYPE_OF[named]
        elif named is None and was in _EXPLOSIONS and _fought_on_the_ground(quotes):
            self.sub_event_type, self.event_type = SubEventType.ARMED_CLASH, EventType.BATTLES
        elif EventType(self.event_type) is EventType.VIOLENCE_AGAINST_CIVILIANS:
            self.event_type = EVENT_TYPE_OF[SubEventType(self.sub_event_type)]
        return self

    @model_validator(mode="after")
    def _each_loss_once(self, info: ValidationInfo) -> Incident:
        """One loss written twice is one entry: a total never counts it twice.

        At temperature 0 a small model may repeat an entry until the list is
        full (4 × "civilians, 4 wounded" from one quote on a FA-KES article),
        or write the same toll for every side it lists; salvage then quotes
        each with the one passage that states it (4 × 43 killed, summed to
        172). During extraction (``model_answer``) an entry with the same
        counts as an earlier one and a quote in common with it is left out:
        one passage states those dead once. Two groups a passage counts apart
        ("اثنين من العاملين واثنين من المسلحين قتلوا") stay two.

        An entry of the same side that states less than another (:func:`_says_less`:
        "أشخاص, 4 killed" from the headline beside "أشخاص, 4 killed, 7 wounded"
        from the body) is that one stated twice, and gives way to it.
        """
        ctx = context_of(info)
        if not ctx or not ctx.get("model_answer"):
            return self
        lexicon = _lexicon(ctx)
        kept: list[Casualties] = []
        for side in self.casualties:
            if any(_same_loss(k, side, lexicon) or _says_less(side, k) for k in kept):
                continue
            fuller = next((j for j, k in enumerate(kept) if _says_less(k, side)), None)
            if fuller is None:
                kept.append(side)
            else:
                kept[fuller] = side
        self.casualties[:] = kept
        return self

    @model_validator(mode="after")
    def _casualties_from_quotes(self, info: ValidationInfo) -> Incident:
        """An incident quoted as "50 Civilians Killed" has that toll, even when the model counted no losses.

        Small models leave ``casualties`` empty under such a headline, or list
        sides with every count null ("Terrorists", "Syrian Arab Army" under
        "Terrorist attacks kill 10"). During extraction (``model_answer``),
        when no side states a count, the first of the incident's quotes that
        states a count without doubt becomes one side's losses: the counted
        noun as written ("Civilians") names the side, "unspecified" when the
        quote names none. A count-less side of the same name is that side, so
        it is replaced; other count-less sides stay (they may be "a number of
        wounded"), after it, as many as the list holds.
        """
        ctx = context_of(info)
        counted = any(getattr(side, kind) is not None for side in self.casualties for kind in COUNT_WORDS)
        if counted or not ctx or not ctx.get("model_answer"):
            return self
        lexicon = _lexicon(ctx)
        for evidence in self.evidence:
            mentions = count_mentions(evidence.quote, COUNT_WORDS, lexicon)
            if mentions:
                side = next((m.noun for m in mentions.values() if m.noun), None) or "unspecified"
                losses = {name: m.value for name, m in mentions.items()}
                data = {"side": side[:120], "evidence": [{"quote": evidence.quote}], **losses}
                found = Casualties.model_validate(data, context=ctx)
                named = word_forms(found.side)
                others = [c for c in self.casualties if not word_forms(c.side) & named]
                self.casualties[:] = [found, *others][:MAX_SIDES]
                break
        return self


class NegotiationOutcome(StrEnum):
    AGREEMENT_REACHED = "agreement_reached"
    REJECTED = "rejected"
    ONGOING = "ongoing"
    UNKNOWN = "unknown"


class Participant(_Model):
    """A party to a negotiation, with the people who represented it."""

    actor: Actor
    representatives: list[Short] = Field(
        default_factory=list, max_length=4, description="Named people with rank/title as written."
    )


class Term(_Model):
    party: Short = Field(description="Who commits, as written.")
    commitment: Text = Field(description="What they commit to, in English.")
    in_exchange_for: Text | None = Field(default=None, description="What they get in return, in English.")
    evidence: EvidenceList


class Negotiation(_Model):
    """A meeting, truce, settlement, agreement or mediation."""

    date: EventDate
    location: Location | None = None
    venue: Short | None = Field(default=None, description="Building or HQ where it took place.")
    parties: list[Participant] = Field(default_factory=list, max_length=6)
    mediators: list[Actor] = Field(default_factory=list, max_length=4)
    terms: list[Term] = Field(default_factory=list, max_length=6)
    outcome: NegotiationOutcome = NegotiationOutcome.UNKNOWN
    linked_incident: int | None = Field(
        default=None, ge=0, le=50, description="Index in `incidents` of the incident it responds to."
    )
    summary: Text
    evidence: EvidenceList

    @model_validator(mode="after")
    def _date_from_quotes(self, info: ValidationInfo) -> Negotiation:
        """See :func:`_dated_by_quotes`."""
        self.date = _dated_by_quotes(self.date, self.evidence, info)
        return self

    @model_validator(mode="after")
    def _each_party_once(self, info: ValidationInfo) -> Negotiation:
        """A party the model named twice is one party, with the representatives both gave it.

        Asked for a negotiation's parties, the 1.5B model wrote the seed's
        "اللواء الثامن" twice; a reader would count two sides where the
        article names one. Read during extraction (``model_answer``) only.
        """
        ctx = context_of(info)
        if not ctx or not ctx.get("model_answer"):
            return self
        parties: dict[str, Participant] = {}
        for party in self.parties:
            first = parties.setdefault(normalize(party.actor.name).lower(), party)
            if first is not party:
                first.representatives = list(dict.fromkeys([*first.representatives, *party.representatives]))[:4]
        self.parties = list(parties.values())
        return self


class ChangeType(StrEnum):
    APPOINTMENT = "appointment"
    TRANSFER = "transfer"
    DISMISSAL = "dismissal"
    PROMOTION = "promotion"
    ARREST = "arrest"
    DEATH = "death"
    RESIGNATION = "resignation"
    OTHER = "other"


class PersonnelClaim(_Model):
    """One source's version of what happened to the person."""

    change_type: ChangeType
    destination: Short | None = Field(default=None, description="New place or body, as written.")
    destination_en: Short | None = None
    new_role: Short | None = None
    reason: Text | None = None
    source: AsWritten = Field(
        description="Who says so, as the article names them: a group, an outlet, 'a former commander'."
    )
    source_en: Short | None = None
    evidence: EvidenceList


class PersonnelChange(_Model):
    """A change in an official's or commander's post; conflicting versions are separate claims."""

    person: AsWritten = Field(description="Name as written.")
    person_en: Short | None = None
    rank: Short | None = None
    role_held: Short | None = Field(default=None, description="The post held before the change.")
    organization: Short | None = None
    date: EventDate | None = None
    claims: list[PersonnelClaim] = Field(min_length=1, max_length=4)
    evidence: EvidenceList

    @model_validator(mode="after")
    def _a_death_told_as_a_death(self, info: ValidationInfo) -> PersonnelChange:
        """A claim whose quotes tell of a death and of no other change is a death, whatever type the model wrote.

        The 1.5B model typed "… the Al-Nusra Front commander in Lattakia was
        killed" a dismissal. During extraction (``model_answer``) a claim's own
        quotes with the record's, naming a death (:data:`DEATH_STEMS`) and no
        other word of :data:`CHANGE_STEMS` (an appointment, an arrest, a release),
        make its type a death; quotes that name both leave the model's choice.
        """
        ctx = context_of(info)
        if not ctx or not ctx.get("model_answer"):
            return self
        for claim in self.claims:
            text = normalize(" ".join(e.quote for e in (*claim.evidence, *self.evidence))).lower()
            if claim.change_type is not ChangeType.DEATH and _DEATHS.search(text) and not _NOT_DEATHS.search(text):
                claim.change_type = ChangeType.DEATH
        return self


def _unsupported(record: Incident | Negotiation | PersonnelChange, article: str = "") -> str | None:
    """Why a record's own quotes (for a person, the ``article``, normalised, lower case) do not support it,
    or ``None`` when they do."""
    quotes = " ".join(e.quote for e in iter_evidence(record))
    text = normalize(quotes).lower()
    violent = isinstance(record, Incident) and EVENT_TYPE_OF[SubEventType(record.sub_event_type)] != _STRATEGIC
    if violent and not _EVENT.search(text):  # a strategic development (a visit, a base) has no one vocabulary
        return "no word of its quotes names a violent event"
    quiet = isinstance(record, Incident) and not may_report_incident(quotes)
    if quiet and violent and (_MEETING.search(text) or _POSTS.search(text)):
        return "its quotes state no toll and name no way of fighting, but tell of talks or a change of post"
    if quiet and _POSTS.search(text) and not _CAPTURES.search(text):  # "President dismisses head of security"
        return "its quotes state no toll, name no way of fighting and no arrest, but tell of a change of post"
    talks = isinstance(record, Incident) and not violent and record.sub_event_type != SubEventType.ARRESTS
    if talks and _MEETING.search(text):  # the seed's meeting after the attack, as a "transfer of territory"
        return "a strategic development whose quotes tell of talks or a meeting: a negotiation, not an incident"
    if isinstance(record, Negotiation):  # its own quotes, not its terms': "attempts at a truce have faltered"
        own = normalize(" ".join(e.quote for e in record.evidence)).lower()
        return None if _MEETING.search(own) else "no word of its own quotes names a meeting, talks or an agreement"
    if not isinstance(record, PersonnelChange):
        return None
    if not {w for w in word_forms(record.person) if len(w) > 2} & word_forms(quotes):
        return f"its quotes do not name {record.person!r}"
    if not _CHANGES.search(text):
        return "no word of its quotes names a change of post, a death, a capture or a release"
    reporter = all(normalize(c.source) == normalize(record.person) for c in record.claims) or any(
        _speaks(record.person, normalize(e.quote).lower()) for e in iter_evidence(record)
    )
    if reporter and _DEATHS.search(text) and not _POSTS.search(text):  # no one reports their own death
        return f"{record.person!r} is who reports the deaths, not whose post changed"
    if _civilian(record.person, article):
        return f"the article calls {record.person!r} a civilian: a casualty, not an official or commander"
    return None


_CIVILIAN_BEFORE = re.compile(r"(?:\bcivilians?|(?<!\w)(?:ال|و|وال)?(?:مدني|مواطن))\s+$")


def _civilian(person: str, article: str) -> bool:
    """Whether the article (normalised, lower case) writes ``person`` as a civilian: "… killing civilian
    Mohammad Alaa Mesouti".

    A personnel change is a change of an official's or a commander's post
    (their death included); the 1.5B model also wrote a civilian killed by a
    sniper as one (typed an arrest), where the article names him a civilian.
    """
    name = normalize(person).lower()
    found = re.finditer(re.escape(name), article) if name else ()
    return any(_CIVILIAN_BEFORE.search(article[max(0, m.start() - 20) : m.start()]) for m in found)


_SAYS_BEFORE = re.compile(
    r"(?:\b(?:said|says|told|according to)|(?<!\w)(?:قال|وقال|افاد|وافاد|بحسب|حسب|وفق|اضاف|واضاف))\s+$"
)
_SAYS_AFTER = re.compile(r"^\s*(?:said|says|told)\b")


def _speaks(person: str, text: str) -> bool:
    """Whether a quote (normalised, lower case) names ``person`` as who says it: "… said Rami Abdel Rahman".

    The 1.5B model wrote the monitor who gave a toll as a personnel change
    ("said Rami Abdel Rahman director of the Syrian Observatory", claims sourced
    to the Observatory), as it writes one who reports deaths under their own name.
    """
    name = normalize(person).lower()
    for found in re.finditer(re.escape(name), text) if name else ():
        if _SAYS_BEFORE.search(text[: found.start()]) or _SAYS_AFTER.match(text[found.end() :]):
            return True
    return False


def _repeat_key(record: Incident | Negotiation | PersonnelChange) -> tuple[Any, ...] | None:
    """What two records of one list share when they are one event written twice, or ``None`` (never merged here).

    The same date value (an incident also the same sub-event type) and a
    quoted passage in common (:func:`_repeats`): two events told in one sentence differ
    in their date or type (a dev article quotes one sentence for two air
    strikes, a year apart).
    """
    if isinstance(record, PersonnelChange):
        return None
    quotes = frozenset(
        (e.start, e.end) if e.start is not None and e.end is not None else normalize(e.quote) for e in record.evidence
    )
    kind = record.sub_event_type if isinstance(record, Incident) else None
    return (quotes, record.date.value, kind)


def _repeats(key: tuple[Any, ...], earlier: tuple[Any, ...]) -> bool:
    """Whether a record with ``key`` writes again the event of one with ``earlier`` (:func:`_repeat_key`).

    One shared passage is enough: an article that repeats its lead (a FA-KES
    mosque bombing, no toll) was asked about sentence by sentence, and each
    answer quoted the lead beside a sentence of its own.
    """
    return key[1:] == earlier[1:] and any(_same_passage(a, b) for a in key[0] for b in earlier[0])


def _same_passage(a: tuple[int, int] | str, b: tuple[int, int] | str) -> bool:
    """Whether two quotes share words of the article: their spans overlap (or, ungrounded, they are one text)."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        return a[0] < b[1] and b[0] < a[1]
    return a == b


def _dated_alike(a: Incident, b: Incident) -> bool:
    """Whether two incidents' dates do not differ: one unknown, or one the other to a coarser precision."""
    first, second = a.date.value or "", b.date.value or ""
    return first.startswith(second) or second.startswith(first)


def _same_toll(a: Incident | Negotiation | PersonnelChange, b: Incident | Negotiation | PersonnelChange) -> bool:
    """Whether two incidents are one event told twice with its toll.

    Either they share a number of dead, their dates do not differ (one
    unknown, or one the other to a coarser precision) and their places do not
    differ (one unknown, or the same place as the evaluation compares places:
    "Idlib" and "Idlib northern Syria", not "the regime-held al-Masharfeh
    district" and "a town in eastern Syria held by the Islamic State group").
    News tells the toll in the headline, the lead and the body; the 1.5B
    model, asked again about each sentence (``per-list-cued``), wrote each
    telling as an event, with a sub-event type of its own ("Six Killed in
    Aleppo Bombing" as an IED, the lead's "six people were killed" as
    excessive force), so the type is not compared then.

    Or the tolls differ, as one event's toll does from one monitor or one hour
    to the next ("21 killed as Syria rebels shell Assad election rally" and
    "It had initially given a death toll of 22"; an observatory's 12 and the
    committees' 13): then the sub-event type must agree and the place be
    written alike (as written, not a normalized "Aleppo" that two
    neighbourhoods share), and both state a toll, or one does and their
    dates are the same (both unknown included: the seed's "battle of Jasim",
    no toll, is its clash with two dead). Two incidents without a toll are
    never merged here (two strikes on one town may both be unnamed), only by
    :func:`_one_acled_event`, which wants an actor in common. A dev
    article's day's attack in Tripoli, undated, stays apart from "earlier
    this month" clashes there, which that quote dates (:func:`date_in`).
    """
    if not isinstance(a, Incident) or not isinstance(b, Incident):
        return False
    tolls = [{c.killed for c in r.casualties if c.killed} for r in (a, b)]
    if not _dated_alike(a, b):
        return False
    dates = (a.date.value or "", b.date.value or "")
    placed = [r.location.as_written or r.location.normalized for r in (a, b)]
    if tolls[0] & tolls[1]:
        return not all(placed) or _PLACE(a, b) > 0
    same_day = dates[0] == dates[1]  # the same day, or neither dated
    return (
        a.sub_event_type == b.sub_event_type
        and all(placed)
        and _PLACE_AS_WRITTEN(a, b) > 0
        and (all(tolls) or (any(tolls) and same_day))
    )


def _quoted(record: Incident | Negotiation) -> str:
    """The record's own top-level quotes, folded as spans are compared."""
    return normalize(" ".join(e.quote for e in record.evidence))


def _support(record: Incident | Negotiation) -> int:
    """How many of the record's place, date words and named sides its own top-level quotes write, and its counts.

    Of two repeats, the one whose values its quotes state is kept: a dev
    article's strike quoted "rockets on several parts of Douma" once as
    "Douma", once as "Eastern Ghouta" (the region, named elsewhere). A count
    kept is one its quotes state (grounding saw to that), so "an explosive
    device went off … killing six people and wounding 30 others" outranks
    the headline's "Six Killed in Aleppo Bombing".
    """
    quotes = _quoted(record)
    names = [record.location.as_written if record.location else None, record.date.text]
    counts = 0
    if isinstance(record, Incident):
        names += [a.name for a in record.actors] + [c.side for c in record.casualties]
        counts = sum(getattr(c, kind) is not None for c in record.casualties for kind in COUNT_WORDS)
    else:
        names += [p.actor.name for p in record.parties]
    return counts + sum(1 for n in names if n and normalize(n) in quotes)


def _two_places(a: Incident | Negotiation | PersonnelChange, b: Incident | Negotiation | PersonnelChange) -> bool:
    """Whether the shared quotes write two different places for the two records ("strikes hit Douma and Harasta").

    Each place must stand as words of its own (:func:`word_forms`): "Syria" is not written in
    "Syrian Towns", but "حرستا" is in "دوما وحرستا".
    """
    if isinstance(a, PersonnelChange) or isinstance(b, PersonnelChange):
        return False
    words = word_forms(_quoted(a))
    places = {normalize(r.location.as_written) for r in (a, b) if r.location and r.location.as_written}
    return len(places) == 2 and all(word_forms(p) <= words for p in places) and not _nested(*places)


def _nested(a: str, b: str) -> bool:
    """Whether one place's words are all words of the other: "Damascus" and "Syrias Damascus" are one place."""
    first, second = word_forms(a), word_forms(b)
    return bool(first and second) and (first <= second or second <= first)


def _one_acled_event(a: Incident | Negotiation | PersonnelChange, b: Incident | Negotiation | PersonnelChange) -> bool:
    """Whether two incidents without a toll are what ACLED codes as one event: one day, one place, one actor.

    ACLED's unit is an event type on one day at one location between the same
    actors. Two records of one sub-event type, neither with a number of dead,
    whose dates do not differ (one unknown, or one the other to a coarser
    precision), whose places are one written within the other ("مصياف" and
    "مدينة مصياف جنوبي غرب محافظة حماة السورية") or one written in the other's
    own quotes (a shelling "في محيط مطار الحديدة" the model placed at "محليون",
    the locals who told it) and who name an actor in common are that one event
    told twice: the 1.5B model wrote a dev article's assassination, a roadside
    bomb and a mosque bombing twice each, once per paragraph that tells it
    (each scored as an invented record).
    """
    if not isinstance(a, Incident) or not isinstance(b, Incident) or a.sub_event_type != b.sub_event_type:
        return False
    if any(c.killed for r in (a, b) for c in r.casualties):
        return False
    if not _dated_alike(a, b):
        return False
    places = [r.location.as_written for r in (a, b)]
    actors = [{normalize(x.name) for x in r.actors if x.name} for r in (a, b)]
    if not (places[0] and places[1] and actors[0] & actors[1]):
        return False
    quoted = [word_forms(" ".join(e.quote for e in r.evidence)) for r in (b, a)]
    written = [word_forms(place) for place in places]
    return _nested(*places) or any(w and w <= q for w, q in zip(written, quoted, strict=True))


def _empty(model: BaseModel, name: str) -> bool:
    """Whether a field says nothing: null, "", [], its default, or a sub-record all of whose fields say nothing
    (a date with neither words nor value)."""
    value = getattr(model, name)
    if isinstance(value, BaseModel):
        return all(_empty(value, n) for n in type(value).model_fields)
    return value in (None, "", []) or value == type(model).model_fields[name].default


def _gaps_filled(kept: Any, repeat: Any) -> Any:
    """``kept`` with the values it left empty (:func:`_empty`) taken from ``repeat``; what it says wins."""
    update = {
        name: getattr(repeat, name)
        for name in type(kept).model_fields
        if _empty(kept, name) and not _empty(repeat, name)
    }
    return kept.model_copy(update=update) if update else kept


_ONE_KEPT = "one record, the better supported kept"


def _joined(a: Any, b: Any) -> Any:
    """One record of two tellings: the one whose quotes write more of its values, its gaps filled from the other."""
    better, other = sorted((a, b), key=_support, reverse=True)
    return _gaps_filled(better, other)


def _retold(a: Any, b: Any) -> str:
    """How two kept incidents are one event told twice (:func:`_same_toll`, :func:`_one_acled_event`), or ""."""
    if _same_toll(a, b):
        return "told again with its toll"
    if _one_acled_event(a, b):
        return "one day, place and actor"
    return ""


def _join_retold(name: str, kept: list[Any], answer: list[int], moved: dict[int, int], warnings: Any) -> None:
    """Join the kept records that :func:`_retold` finds one event, until no two are, in place.

    Pairs are looked at again after each join, since the record a join keeps
    can take the other's type: on the seed, an IED with two dead joined the
    armed clash that states them, and only then did the clash told again
    without a toll ("the battle of Jasim") join it. ``answer`` maps kept
    indexes to the answer's, ``moved`` the answer's incidents to kept indexes.
    """
    joined = True
    while joined:
        pairs = ((j, k) for j in range(len(kept)) for k in range(j + 1, len(kept)))
        found = ((j, k, _retold(kept[j], kept[k])) for j, k in pairs)
        j, k, how = next(((j, k, how) for j, k, how in found if how), (-1, -1, ""))
        joined = j >= 0
        if joined:
            kept[j] = _joined(kept[j], kept.pop(k))
            dropped = answer.pop(k)
            for i, at in moved.items():
                moved[i] = j if at == k else at - (at > k)
            if isinstance(warnings, list):
                reason = f"repeats {name}[{answer[j]}] (the same event, {how}): {_ONE_KEPT}"
                warnings.append(f"dropped {name}[{dropped}]: {reason}")


class ConflictRecords(_Model):
    """Everything one article reports. Empty lists when it reports nothing."""

    incidents: list[Incident] = Field(default_factory=list, max_length=8)
    negotiations: list[Negotiation] = Field(default_factory=list, max_length=4)
    personnel_changes: list[PersonnelChange] = Field(default_factory=list, max_length=4)

    @model_validator(mode="after")
    def _drop_unsupported(self, info: ValidationInfo) -> ConflictRecords:
        """A record whose own quotes do not say what it is, is dropped, with a warning.

        Small models write a record into every list whatever the article says
        (13 records on the 6 negative controls of the dev set: a film festival
        as an incident, "Syria" as a person whose post changed). In a model's
        answer (``model_answer``) an incident's quotes must hold a word of
        :data:`EVENT_STEMS`, a negotiation's a word of :data:`MEETING_STEMS`
        (and its article a word of a conflict, :data:`_PEACEFUL`), and a personnel
        change's quotes must name its person and a word of :data:`CHANGE_STEMS`.

        A record that repeats an earlier one of its list (:func:`_repeat_key`:
        a quoted passage and the date, for an incident also the sub-event type,
        and not two places its quotes both write) is the model writing one event
        twice (5 times in 21 dev documents, each scored as an invented record);
        so is an incident told again with its toll (:func:`_same_toll`), or without one on the same
        day, at the same place, by the same actor (:func:`_one_acled_event`).
        The two become one, in the first one's place: the one whose quotes write
        more of its values (:func:`_support`), taking from the other only what it
        left empty, so no count is added twice. Personnel changes are merged by
        the task's ``merge_keys``. Links from a negotiation to a dropped incident
        become unknown; to a merged one, the record kept.
        """
        ctx = context_of(info)
        if not ctx or not ctx.get("model_answer"):
            return self
        warnings = ctx.setdefault("warnings", [])
        source = ctx.get("source")
        peaceful = bool(self.negotiations) and isinstance(source, SourceText) and _names_no_conflict(source.text)
        article = normalize(source.text).lower() if self.personnel_changes and isinstance(source, SourceText) else ""
        kept: dict[str, list[Any]] = {}
        moved: dict[int, int] = {}
        lists: tuple[tuple[str, Sequence[Incident | Negotiation | PersonnelChange]], ...] = (
            ("incidents", self.incidents),
            ("negotiations", self.negotiations),
            ("personnel_changes", self.personnel_changes),
        )
        for name, records in lists:
            kept[name] = []
            first: list[tuple[tuple[Any, ...], int, int]] = []  # repeat key, the first's index: kept, answer
            answer: list[int] = []  # kept index -> index in the answer
            for i, record in enumerate(records):
                reason = _unsupported(record, article)
                if reason is None and peaceful and name == "negotiations":
                    reason = _PEACEFUL
                key = _repeat_key(record)
                same = "passage, date and sub-event type" if name == "incidents" else "passage and date"
                earlier = next(((j, a) for k, j, a in first if key is not None and _repeats(key, k)), None)
                if reason is None and earlier is not None:
                    j, original = earlier
                    if not _two_places(kept[name][j], record):
                        kept[name][j] = _joined(kept[name][j], record)
                        reason = f"repeats {name}[{original}] (the same {same}): {_ONE_KEPT}"
                        if name == "incidents":
                            moved[i] = j
                if reason is None:
                    if key is not None:
                        first.append((key, len(kept[name]), i))
                    if name == "incidents":
                        moved[i] = len(kept[name])
                    answer.append(i)
                    kept[name].append(record)
                elif isinstance(warnings, list):
                    warnings.append(f"dropped {name}[{i}]: {reason}")
            if name == "incidents":
                _join_retold(name, kept[name], answer, moved, warnings)
        self.incidents, self.negotiations, self.personnel_changes = (
            kept["incidents"],
            kept["negotiations"],
            kept["personnel_changes"],
        )
        for negotiation in self.negotiations:
            if negotiation.linked_incident is not None:
                negotiation.linked_incident = moved.get(negotiation.linked_incident)
        return self

    @model_validator(mode="after")
    def _no_reporters_as_actors(self, info: ValidationInfo) -> ConflictRecords:
        """Who tells of an incident is not one of its actors: ACLED codes the parties, never the source.

        The 1.5B model lists the teller beside, or instead of, the parties:
        "Syrian Observatory for Human Rights" on 4 dev incidents, "Syrian state
        TV", "Sputnik correspondent", "Syrian state news agency SANA"
        (:data:`REPORTER_WORDS`). During extraction (``model_answer``) such an
        actor is left out, with no actor in its place (unknown). Only after the
        records are joined: a named teller is still a value its quotes write,
        which counts when two tellings are weighed (:func:`_support`).
        """
        ctx = context_of(info)
        if ctx and ctx.get("model_answer"):
            for incident in self.incidents:
                incident.actors[:] = [actor for actor in incident.actors if not _reports(actor)]
        return self

    dataframe_columns: ClassVar[dict[str, str]] = {
        "date_value": "date",
        "location_as_written": "place",
        "location_normalized": "place_normalized",
        "location_admin1": "admin1",
        "location_admin2": "admin2",
        "location_country": "country",
        "casualties_killed": "killed",
        "casualties_wounded": "wounded",
        "casualties_captured": "captured",
        "casualties_released": "released",
    }
    """Analyst names for ``to_pandas()`` columns (``killed`` etc. are summed over sides; see llm_extract.frames)."""


# --- evaluation: what "the same event" and "the same fact" mean for these records -----------
#
# Read by llm_extract.evaluation (``llm-extract eval``) as this module's EVALUATION; the
# engine itself knows none of these names. See the README, section Evaluation.

_NAME = Names(names=("name", "name_en"))
_PLACE_WORDS = frozenset(
    {
        *("city", "town", "village", "district", "area", "region", "province", "governorate", "countryside"),
        *("outskirts", "suburb", "neighbourhood", "neighborhood", "entrance", "vicinity"),
        *("مدينة", "بلدة", "قرية", "حي", "منطقة", "محافظة", "ريف", "محيط", "مدخل", "أطراف"),
    }
)
"""Words that say what kind of place, not which one: two villages are not the same place."""
# More than half the words must agree: "Zabadieh, Aleppo" and "al-Masharfeh, Aleppo" are two places.
_PLACE = Names("location", names=("normalized", "as_written"), min_overlap=0.6, ignore=_PLACE_WORDS)
_PLACE_AS_WRITTEN = Names("location", names=("as_written",), min_overlap=0.6, ignore=_PLACE_WORDS)
_PERSON = Names(names=("person", "person_en"))
_CHANGE_TYPES = SetOf("claims[].change_type", Exact(), distinct=True)
_PARTY = Names(names=("actor.name", "actor.name_en"))
_SIDE = Names(names=("side", "side_en"))
_DESTINATION = Names(names=("destination", "destination_en"))
_SOURCE = Names(names=("source", "source_en"))


def _casualties(category: str) -> Aligned:
    """A count per side: sides paired by name, then unknown (null) must match unknown, and unknown vs 0 is wrong."""
    return Aligned("casualties", key=_SIDE, value=category)


EVALUATION = EvaluationSpec(
    {
        # An incident is the same event when date, place, actors, type and quoted passages mostly agree.
        # Articles often report several incidents on one day, in one town, between the same sides: only
        # the passage and the type tell them apart, so the passage weighs double. A date right only to
        # the month still helps to recognise the event (partial credit when matching).
        "incidents": RecordSpec(
            match={
                "date": (Date("date", partial=0.5), 1.0),
                "place": (_PLACE, 1.0),
                "actors": (SetOf("actors", _NAME), 1.0),
                "event_type": (Exact("event_type"), 1.0),
                "evidence": (Quotes(), 2.0),
            },
            min_similarity=0.55,
            fields={
                "date": Date("date"),
                "date.precision": Exact("date.precision"),
                "location.normalized": TextMatch("location.normalized", min_ratio=0.8),
                "location.admin1": TextMatch("location.admin1", min_ratio=0.8),
                "event_type": Exact("event_type"),
                "sub_event_type": Exact("sub_event_type"),
                "actors": SetOf("actors", _NAME),
                "casualties.killed": _casualties("killed"),
                "casualties.wounded": _casualties("wounded"),
                "casualties.captured": _casualties("captured"),
                "casualties.released": _casualties("released"),
            },
        ),
        "negotiations": RecordSpec(
            match={
                "date": (Date("date", partial=0.5), 1.0),
                "place": (_PLACE, 1.0),
                "parties": (SetOf("parties", _PARTY), 1.0),
                "evidence": (Quotes(), 1.0),
            },
            fields={
                "date": Date("date"),
                "date.precision": Exact("date.precision"),
                "location.normalized": TextMatch("location.normalized", min_ratio=0.8),
                "parties": SetOf("parties", _PARTY),
                "mediators": SetOf("mediators", _NAME),
                # Terms are free English text; a term is found when it rests on the same passage.
                "terms": SetOf("terms", Quotes()),
                "outcome": Exact("outcome"),
            },
        ),
        # A personnel change is about one person, but one person can be appointed, then arrested, in
        # one article: the name weighs double, and the change type or the quotes must agree too.
        "personnel_changes": RecordSpec(
            match={
                "person": (_PERSON, 2.0),
                "change_type": (_CHANGE_TYPES, 1.0),
                "evidence": (Quotes(), 1.0),
            },
            min_similarity=0.6,
            fields={
                "person": _PERSON,
                "change_type": _CHANGE_TYPES,
                "destinations": SetOf("claims", _DESTINATION),
                # Every version of a disputed fact, each with its own source (Damascus vs Qamishli).
                "claims": Claims("claims", fact=All(parts=(Exact("change_type"), _DESTINATION)), source=_SOURCE),
            },
        ),
    }
)
"""How ``llm-extract eval`` matches and scores these records (see :mod:`llm_extract.evaluation`)."""


# --- exports: named frames of these records (the task's ``exports``) ---------


def _acled(results: list[Any]) -> Any:
    """ACLED's columns for the incidents; see :mod:`llm_extract.schemas.acled`."""
    from llm_extract.schemas.acled import acled_frame

    return acled_frame(results)


def may_report_incident(sentence: str) -> bool:
    """Whether a sentence states a toll or names a way of fighting: the ``per-list-cued`` strategy's cue.

    On the dev set such sentences hold 34 of the 42 required incidents, about
    2.7 of them per article; the 1.5B model, asked for the incidents list,
    writes about one. A cue only asks; whatever the model writes is grounded
    and read like any other answer.
    """
    return bool(count_mentions(sentence, COUNT_WORDS, LEXICON)) or sub_event_named(sentence) is not None


_TOLL_WORDS = {kind: COUNT_WORDS[kind] for kind in ("killed", "wounded")}


def states_a_toll(sentence: str) -> bool:
    """Whether a sentence states a number of dead or wounded: the cue that opens an incidents list the model left empty.

    On the dev set the 1.5B model, asked for the incidents of an article about
    talks, wrote none three times, while a sentence of each stated a bombing's
    dead ("قتل ما لا يقل عن 34 شخصا"); no negative control states a toll.
    A way of fighting alone does not open the list: a match report's "clash"
    or a film's bombing is no incident.
    """
    return bool(count_mentions(sentence, _TOLL_WORDS, LEXICON))


TASK = Task.define(
    "conflict",
    ConflictRecords,
    system=read_template("llm_extract.prompts", "conflict.system.j2"),
    user=read_template("llm_extract.prompts", "conflict.user.j2"),
    evaluation=EVALUATION,
    lexicon=LEXICON,
    exports={"acled": _acled},
    datasets={"fakes": "llm_extract.schemas.fakes:FAKES"},
    fixtures="llm_extract.fixtures_data",
    # The same person with the same claims, in any order, is one personnel change (one person
    # appointed, then arrested, is two).
    merge_keys={"personnel_changes": ("person", "claims")},
    compact_system=read_template("llm_extract.prompts", "conflict.compact.system.j2"),
    cues={"incidents": may_report_incident},
    empty_list_cues={"incidents": states_a_toll},
    # A kept negotiation without a place or parties is asked once more, shown only its own sentences,
    # after every other call (docs/strategies.md, "Since the deterministic baseline").
    wanted={"negotiations": ("location", "parties")},
)
"""The built-in task: these records, the ``conflict`` prompt, :data:`EVALUATION`, :data:`LEXICON`,
``ConflictRecords.dataframe_columns`` as the DataFrame's column names, the ``acled`` export form,
the FA-KES benchmark (``--dataset fakes:PATH``, :mod:`llm_extract.schemas.fakes`) and the gold
fixtures of ``seeds/``, installed as ``llm_extract.fixtures_data``."""
