"""Which occasions a shop may greet its customers on, and in what words (data only).

Occasions are found in the `holidays` library's calendar by its stable English (``en_US``) names,
never by translated strings.  A calendar with a catalogue here (IL: Israeli/Jewish, IR:
Iranian/Persian) greets only on the occasions listed; any other country the library knows greets
on its public holidays minus days of mourning or remembrance (``MOURNING_WORDS``).

Left out on purpose (never greeted, and no greeting is ever sent on them):
- IL: Tisha B'Av, Yom HaZikaron ("Remembrance Day"), Yom HaShoah, the Fast of Esther, and Yom Kippur
  itself.  Yom Kippur is a solemn fast: "Gmar Chatima Tova" the day before is the accepted
  greeting, so the occasion ``yom_kippur`` is sent on its eve and nothing on the day.
  Jerusalem Day (political) and the intermediate days of Pesach and Sukkot (the first day's
  greeting covers them) are not occasions.
- IR: Tasua, Ashura, Arbaeen, every martyrdom and death anniversary, and the political days
  (Islamic Revolution Day, Islamic Republic Day, 15 Khordad, Oil Nationalization Day).

Jewish holidays begin at sundown: their greeting goes out on the eve (``offset_days=-1``), except
Independence Day, whose eve is Yom HaZikaron: it is greeted on the day.
"""

from dataclasses import dataclass, field

LANGUAGES = ("en", "he", "fa")
DEFAULT_HOUR = 10  # shop time; inside the engine's allowed hours (09:00-21:00)


@dataclass(frozen=True)
class Occasion:
    """One greetable occasion of a calendar: its library names (the first day of a run of days
    with one of these names is the occasion's date), its name and greeting subject per language,
    and the default send day (relative to the occasion) and hour."""

    key: str
    library_names: tuple[str, ...]
    names: dict[str, str]
    subjects: dict[str, str]
    offset_days: int = 0
    hour: int = DEFAULT_HOUR
    default: bool = True
    # Not in the library: (library name of an anchor occasion, days after it).  Shab-e Yalda is
    # 30 Azar, 275 days after 1 Farvardin (Nowruz) of the same Persian year.
    derived_from: tuple[str, int] | None = None


@dataclass(frozen=True)
class Calendar:
    code: str
    categories: tuple[str, ...]
    occasions: tuple[Occasion, ...]
    # Library names of days on which nothing is sent (beside ``MOURNING_WORDS``).
    no_send_names: tuple[str, ...] = field(default=())


def _jewish(key: str, library_name: str, en: tuple[str, str], he: tuple[str, str], fa: tuple[str, str], *,
            offset_days: int = -1, default: bool = True) -> Occasion:
    return Occasion(key=key, library_names=(library_name,), names={"en": en[0], "he": he[0], "fa": fa[0]},
                    subjects={"en": en[1], "he": he[1], "fa": fa[1]}, offset_days=offset_days, default=default)


def _persian(key: str, library_name: str, en: tuple[str, str], he: tuple[str, str], fa: tuple[str, str], *,
             default: bool = True, derived_from: tuple[str, int] | None = None) -> Occasion:
    return Occasion(key=key, library_names=(library_name,), names={"en": en[0], "he": he[0], "fa": fa[0]},
                    subjects={"en": en[1], "he": he[1], "fa": fa[1]}, default=default, derived_from=derived_from)


ISRAELI = Calendar(
    code="IL",
    categories=("public", "optional", "school"),  # Hanukkah and Purim are not public holidays in the library
    no_send_names=("Yom Kippur", "Remembrance Day", "Tisha B'Av"),
    occasions=(
        _jewish("rosh_hashanah", "Rosh Hashanah", ("Rosh Hashanah", "Shana Tova! Wishing you a sweet new year!"),
                ("ראש השנה", "שנה טובה ומתוקה!"), ("رش هشانا", "شانا طووا! سالی خوش و شیرین برایتان آرزو می‌کنیم")),
        _jewish("yom_kippur", "Yom Kippur", ("Yom Kippur", "Gmar Chatima Tova: wishing you an easy fast"),
                ("יום כיפור", "גמר חתימה טובה וצום קל"),
                ("یوم کیپور", "گمار حتیما طووا؛ روزه‌ای آسان برایتان آرزو می‌کنیم")),
        _jewish("sukkot", "Sukkot", ("Sukkot", "Chag Sameach! Happy Sukkot!"),
                ("סוכות", "חג סוכות שמח!"), ("سوکوت", "جشن سوکوت مبارک!")),
        _jewish("simchat_torah", "Simchat Torah / Shemini Atzeret",
                ("Simchat Torah", "Chag Sameach! Happy Simchat Torah!"),
                ("שמחת תורה", "חג שמחת תורה שמח!"), ("شمحات تورا", "جشن شمحات تورا مبارک!"), default=False),
        _jewish("hanukkah", "Hanukkah", ("Hanukkah", "Hanukkah Sameach! Happy Hanukkah!"),
                ("חנוכה", "חנוכה שמח!"), ("حنوکا", "جشن حنوکا مبارک!")),
        _jewish("purim", "Purim", ("Purim", "Purim Sameach! Happy Purim!"),
                ("פורים", "פורים שמח!"), ("پوریم", "جشن پوریم مبارک!")),
        _jewish("pesach", "Pesach", ("Pesach", "Chag Sameach! Happy Pesach!"),
                ("פסח", "חג פסח כשר ושמח!"), ("پسح", "عید پسح مبارک!")),
        _jewish("lag_baomer", "Lag BaOmer", ("Lag BaOmer", "Happy Lag BaOmer!"),
                ("ל״ג בעומר", "ל״ג בעומר שמח!"), ("لاگ بعومر", "لاگ بعومر مبارک!"), default=False),
        _jewish("shavuot", "Shavuot", ("Shavuot", "Chag Sameach! Happy Shavuot!"),
                ("שבועות", "חג שבועות שמח!"), ("شاووعوت", "عید شاووعوت مبارک!")),
        _jewish("independence_day", "Independence Day", ("Independence Day", "Happy Independence Day!"),
                ("יום העצמאות", "חג עצמאות שמח!"), ("روز استقلال", "روز استقلال مبارک!"), offset_days=0),
    ),
)

PERSIAN = Calendar(
    code="IR",
    categories=("public",),
    occasions=(
        _persian("nowruz", "Nowruz", ("Nowruz", "Nowruz Mobarak! Happy Persian New Year!"),
                 ("נורוז", "נורוז שמח! שנה פרסית חדשה טובה!"), ("نوروز", "نوروز مبارک! سال نو خجسته باد!")),
        _persian("sizdah_bedar", "Nature's Day", ("Sizdah Bedar", "Happy Sizdah Bedar! Enjoy the day outdoors!"),
                 ("סיזדה בדר", "סיזדה בדר שמח!"), ("سیزده‌به‌در", "سیزده‌به‌در خوش بگذرد!")),
        _persian("eid_al_fitr", "Eid al-Fitr", ("Eid al-Fitr", "Eid Mubarak! Happy Eid al-Fitr!"),
                 ("עיד אל-פיטר", "עיד אל-פיטר שמח!"), ("عید فطر", "عید فطر مبارک!")),
        _persian("eid_al_adha", "Eid al-Adha", ("Eid al-Adha", "Eid Mubarak! Happy Eid al-Adha!"),
                 ("עיד אל-אדחא", "עיד אל-אדחא שמח!"), ("عید قربان", "عید قربان مبارک!")),
        _persian("shab_e_yalda", "Shab-e Yalda", ("Shab-e Yalda", "Shab-e Yalda Mobarak! Happy Yalda night!"),
                 ("ליל יאלדה", "ליל יאלדה שמח!"), ("شب یلدا", "شب یلدا مبارک!"), derived_from=("Nowruz", 275)),
        _persian("eid_al_ghadir", "Eid al-Ghadir", ("Eid al-Ghadir", "Happy Eid al-Ghadir!"),
                 ("עיד אל-ע׳דיר", "עיד אל-ע׳דיר שמח!"), ("عید غدیر", "عید غدیر مبارک!"), default=False),
        _persian("fathers_day", "Birthday of Imam Ali", ("Father's Day", "Happy Father's Day!"),
                 ("יום האב", "יום אב שמח!"), ("روز پدر", "روز پدر مبارک!"), default=False),
        _persian("nimeh_shaban", "Birthday of Mahdi", ("Nimeh Shaban", "Happy Nimeh Shaban!"),
                 ("נימה שעבאן", "נימה שעבאן שמח!"), ("نیمه شعبان", "نیمه شعبان مبارک!"), default=False),
        _persian("mabath", "Isra' and Mi'raj", ("Eid al-Mab'ath", "Happy Eid al-Mab'ath!"),
                 ("עיד אל-מבעת׳", "עיד אל-מבעת׳ שמח!"), ("عید مبعث", "عید مبعث مبارک!"), default=False),
        _persian("prophets_birthday", "Birthday of Muhammad and Imam Ja'far al-Sadiq",
                 ("Birthday of the Prophet", "Happy Mawlid!"), ("יום הולדת הנביא", "מוולד שמח!"),
                 ("میلاد پیامبر", "میلاد پیامبر مبارک!"), default=False),
    ),
)

CATALOGUES = {calendar.code: calendar for calendar in (ISRAELI, PERSIAN)}
ALIASES = {"JEWISH": "IL", "ISRAELI": "IL", "PERSIAN": "IR", "IRANIAN": "IR"}

# Any calendar: a day whose library name holds one of these words is a day of mourning or
# remembrance: never an occasion, and no greeting is sent on it (matched as whole words, any case).
MOURNING_WORDS = (
    "memorial", "remembrance", "commemoration", "mourning", "martyr", "martyrs", "martyrdom", "death", "dead",
    "funeral", "holocaust", "genocide", "victims", "tragedy", "assassination", "armistice", "anzac",
    "good friday", "holy thursday", "maundy thursday", "holy saturday", "ash wednesday", "all souls",
    "all saints", "tasua", "ashura", "arbaeen", "tisha b'av", "yom hazikaron", "yom hashoah", "fast",
)

# Other countries (names from the library): the subject per language.
GENERIC_SUBJECTS = {"en": "Happy {name}!", "he": "{name} שמח!", "fa": "{name} مبارک!"}
# "A and B" in each language (Hebrew's "and" is a prefix).
AND = {"en": " and ", "he": " ו", "fa": " و "}
