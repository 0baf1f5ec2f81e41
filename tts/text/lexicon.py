"""Word lists and tables used by the normaliser (``tts.text.normalize``); data only."""

from __future__ import annotations

import re


def _words(text: str) -> list[str]:
    return text.split()


MONTHS = _words("January February March April May June July August September October November December")
WEEKDAYS = _words("Monday Tuesday Wednesday Thursday Friday Saturday Sunday")

# Characters rewritten before anything else (typographic quotes and dashes, odd spaces, symbols).
CHAR_MAP = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2033": '"', "\u2039": "'", "\u203a": "'",
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2212": "-", "\u2013": "–", "\u2014": "—", "\u2015": "—",
    "\u00a0": " ", "\u00ad": "", "\u200b": "", "\u200c": "", "\u200d": "", "\ufeff": "",
    "\u2026": "…", "\u00b7": ", ", "\u2022": ", ", "\u25cf": ", ", "\u2023": ", ",
    "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
    "\u00b2": " squared", "\u00b3": " cubed", "\u2122": " ", "\u00ae": " ", "\u2020": " ", "\u2021": " ",
}  # fmt: skip
VULGAR_FRACTIONS = {
    "½": "1/2", "⅓": "1/3", "⅔": "2/3", "¼": "1/4", "¾": "3/4", "⅛": "1/8", "⅜": "3/8", "⅝": "5/8",
    "⅞": "7/8",
}  # fmt: skip

# Symbols spoken as words once numbers are done.  "/" between words is "slash"; "*" "^" "_" "|" go.
SYMBOLS = {
    "&": "and", "+": "plus", "=": "equals", "@": "at", "#": "number", "%": "percent", "‰": "per mille",
    "°": "degrees", "<": "less than", ">": "greater than", "≤": "less than or equal to",
    "≥": "greater than or equal to", "≠": "is not equal to", "±": "plus or minus", "≈": "approximately",
    "×": "times", "÷": "divided by", "→": "to", "$": "dollars", "€": "euros", "£": "pounds", "¥": "yen",
    "§": "section", "¶": "paragraph", "©": "copyright", "/": "slash", "№": "number",
    "*": " ", "^": " ", "_": " ", "|": ",", "\\": " ", "~": " ",
}  # fmt: skip
SYMBOL_BEFORE_DIGIT = {"#": "number", "~": "about", "№": "number", "≈": "approximately", "±": "plus or minus"}
SYMBOL_BEFORE_DIGIT_RE = re.compile(r"([#~№≈±])\s?(?=\d)")

# Titles before a name.  "Dr." and "St." are resolved by context in normalize.py.
TITLES = {
    "Mr": "Mister", "Mrs": "Missus", "Ms": "Miz", "Mx": "Mix", "Messrs": "Messieurs", "Prof": "Professor",
    "Rev": "Reverend", "Hon": "Honorable", "Gen": "General", "Col": "Colonel", "Capt": "Captain",
    "Lt": "Lieutenant", "Sgt": "Sergeant", "Cpl": "Corporal", "Maj": "Major", "Adm": "Admiral",
    "Cmdr": "Commander", "Gov": "Governor", "Sen": "Senator", "Rep": "Representative", "Pres": "President",
    "Supt": "Superintendent", "Fr": "Father", "Mme": "Madame", "Mlle": "Mademoiselle",
}  # fmt: skip
TITLE_RE = "|".join(sorted(TITLES, key=len, reverse=True))
TITLES_WITHOUT_PERIOD = {"Mr", "Mrs", "Ms", "Mx", "Prof"}

# Abbreviations written with a period: expansion, and whether the period may also end a sentence.
ABBREVIATIONS = {
    "etc": ("et cetera", True), "vs": ("versus", False), "approx": ("approximately", False),
    "appt": ("appointment", False), "dept": ("department", True), "Dept": ("Department", True),
    "misc": ("miscellaneous", True),
    "cf": ("compare", False), "ca": ("circa", False), "viz": ("namely", False), "al": ("al", True),
    "Inc": ("Incorporated", True), "Ltd": ("Limited", True), "Co": ("Company", True),
    "Corp": ("Corporation", True),
    "Bros": ("Brothers", True), "Ave": ("Avenue", True), "Blvd": ("Boulevard", True), "Rd": ("Road", True),
    "Ln": ("Lane", True), "Hwy": ("Highway", True), "Mt": ("Mount", False), "Sq": ("Square", True),
    "Apt": ("Apartment", False), "apt": ("apartment", False), "Jr": ("Junior", True), "Sr": ("Senior", True),
    "Univ": ("University", True), "Assn": ("Association", True), "Intl": ("International", False),
    "Natl": ("National", False), "Govt": ("Government", True), "govt": ("government", True),
    "Mgr": ("Manager", True), "tel": ("telephone", False), "Tel": ("Telephone", False),
    "ext": ("extension", False), "est": ("established", False), "Est": ("Established", False),
    "max": ("maximum", True), "min": ("minimum", True), "yr": ("year", True), "yrs": ("years", True),
    "wk": ("week", True), "wks": ("weeks", True), "hr": ("hour", True), "hrs": ("hours", True),
}  # fmt: skip
ABBREVIATION_RE = "|".join(
    sorted((re.escape(k) for k in ABBREVIATIONS if k.isalpha()), key=len, reverse=True)
)
ABBREVIATION_RE = rf"(?:{ABBREVIATION_RE}|(?i:etc|vs|approx|cf|misc|viz))"
# Abbreviations expanded only before a number ("fig. 3", "vol. II"): "a fig." is a fruit.
NUMBERED = {
    "fig": "figure", "figs": "figures", "vol": "volume", "vols": "volumes", "ch": "chapter", "pp": "pages",
    "p": "page", "pg": "page", "para": "paragraph", "op": "opus", "eq": "equation", "sec": "section",
    "art": "article",
}  # fmt: skip
NUMBERED_RE = "(?i:" + "|".join(sorted(NUMBERED, key=len, reverse=True)) + ")"

# Capitalised words after which "St."/"Dr." still start a name ("In St. Louis", "The Dr. said").
SENTENCE_STARTERS = set(
    _words(
        "The A An In At On To From Of By For With Near And But Or So Then When Where While If As This That "
        "Visit Visiting Dear Ask Call Meet"
    )
)

# Units after a number: symbol -> (singular, plural).
UNITS = {
    "km/h": ("kilometer per hour", "kilometers per hour"), "kph": ("kilometer per hour",
    "kilometers per hour"),
    "mph": ("mile per hour", "miles per hour"), "m/s": ("meter per second", "meters per second"),
    "km²": ("square kilometer", "square kilometers"), "m²": ("square meter", "square meters"),
    "cm²": ("square centimeter", "square centimeters"), "ft²": ("square foot", "square feet"),
    "m³": ("cubic meter", "cubic meters"), "cm³": ("cubic centimeter", "cubic centimeters"),
    "km": ("kilometer", "kilometers"), "m": ("meter", "meters"), "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"), "µm": ("micrometer", "micrometers"), "nm": ("nanometer",
    "nanometers"),
    "mi": ("mile", "miles"), "ft": ("foot", "feet"), "yd": ("yard", "yards"), "yds": ("yard", "yards"),
    "kg": ("kilogram", "kilograms"), "g": ("gram", "grams"), "mg": ("milligram", "milligrams"),
    "µg": ("microgram", "micrograms"), "lb": ("pound", "pounds"), "lbs": ("pound", "pounds"),
    "oz": ("ounce", "ounces"), "t": ("tonne", "tonnes"), "l": ("liter", "liters"), "L": ("liter", "liters"),
    "ml": ("milliliter", "milliliters"), "mL": ("milliliter", "milliliters"), "gal": ("gallon", "gallons"),
    "h": ("hour", "hours"), "hr": ("hour", "hours"), "hrs": ("hour", "hours"), "min": ("minute", "minutes"),
    "mins": ("minute", "minutes"), "sec": ("second", "seconds"), "secs": ("second", "seconds"),
    "s": ("second", "seconds"), "ms": ("millisecond", "milliseconds"), "µs": ("microsecond", "microseconds"),
    "ns": ("nanosecond", "nanoseconds"), "yr": ("year", "years"), "yrs": ("year", "years"),
    "Hz": ("hertz", "hertz"), "kHz": ("kilohertz", "kilohertz"), "MHz": ("megahertz", "megahertz"),
    "GHz": ("gigahertz", "gigahertz"), "KB": ("kilobyte", "kilobytes"), "kB": ("kilobyte", "kilobytes"),
    "MB": ("megabyte", "megabytes"), "GB": ("gigabyte", "gigabytes"), "TB": ("terabyte", "terabytes"),
    "Mbps": ("megabit per second", "megabits per second"), "Gbps": ("gigabit per second",
    "gigabits per second"),
    "W": ("watt", "watts"), "kW": ("kilowatt", "kilowatts"), "MW": ("megawatt", "megawatts"),
    "kWh": ("kilowatt hour", "kilowatt hours"), "V": ("volt", "volts"), "mAh": ("milliamp hour",
    "milliamp hours"),
    "dB": ("decibel", "decibels"), "px": ("pixel", "pixels"),
    "°C": ("degree Celsius", "degrees Celsius"),
    "°F": ("degree Fahrenheit", "degrees Fahrenheit"), "° C": ("degree Celsius", "degrees Celsius"),
    "° F": ("degree Fahrenheit", "degrees Fahrenheit"), "°": ("degree", "degrees"),
}  # fmt: skip
# "/hr" after an amount: "$3.50/hr" -> "... per hour".
PER_UNITS = {
    "hr": "hour", "h": "hour", "hour": "hour", "day": "day", "d": "day", "wk": "week", "week": "week",
    "mo": "month", "month": "month", "yr": "year", "year": "year", "kg": "kilogram", "lb": "pound",
    "g": "gram", "min": "minute", "km": "kilometer", "mi": "mile", "gal": "gallon", "oz": "ounce",
    "person": "person", "night": "night", "unit": "unit", "item": "item", "piece": "piece",
}  # fmt: skip
PER_UNIT_RE = "|".join(sorted(PER_UNITS, key=len, reverse=True))
UNIT_RE = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))

# Roman numerals after these words are cardinals ("Chapter IV" -> "chapter four").
ROMAN_KEYWORDS = set(
    _words(
        "chapter chapters part volume vol. vol book act scene section article appendix phase stage level "
        "round episode season title class type grade psalm canto unit lesson figure fig. table plate item "
        "war bowl apollo gemini vatican mark series"
    )
)
# Roman numerals after these names are regnal ordinals ("Henry VIII" -> "Henry the eighth").
REGNAL_NAMES = set(
    _words(
        "Henry Edward George William Elizabeth Charles James Richard John Mary Anne Louis Philip Felipe "
        "Carlos Juan Alfonso Ferdinand Isabella Frederick Friedrich Wilhelm Peter Ivan Nicholas Alexander "
        "Catherine Paul Pius Leo Gregory Benedict Innocent Clement Urban Boniface Sixtus Ramesses Ramses "
        "Amenhotep Thutmose Ptolemy Cleopatra Napoleon Victor Emmanuel Umberto Gustav Gustavus Christian "
        "Olaf Haakon Harald Magnus Eric Erik Constantine Justinian Otto Rudolf Francis Franz Joseph Leopold "
        "Maximilian Sigismund Casimir Stanislaus Mehmed Suleiman Selim Murad Darius Xerxes Cyrus Antiochus "
        "Herod David Robert Duncan Kenneth Harold Edmund Stephen Matilda Sancho Pedro Manuel Afonso Jaime "
        "Baldwin Alexios Basil Leopold Rama Hussein Abdullah Faisal Akhenaten Seti Sobhuza Malcolm"
    )
)
REGNAL_TITLES = set(
    _words("King Queen Pope Emperor Empress Tsar Czar Tsarina Kaiser Prince Princess Pharaoh Sultan")
)

# All-caps words read as words, with the spelling espeak reads best.
ACRONYM_WORDS = {
    "NASA": "Nasa", "NATO": "Nato", "UNESCO": "Unesco", "UNICEF": "Unicef", "OPEC": "Opec", "FIFA": "Fifa",
    "UEFA": "Uefa", "NAFTA": "Nafta", "AIDS": "Aids", "LASER": "laser", "RADAR": "radar", "SCUBA": "scuba",
    "SONAR": "sonar", "COVID": "Covid", "ASCII": "ascii", "GIF": "gif", "JPEG": "jay peg", "JSON": "jay son",
    "IKEA": "Ikea",
    "NASDAQ": "Nasdaq", "OK": "okay", "PIN": "pin", "RAM": "ram", "ROM": "rom", "SIM": "sim", "LAN": "lan",
    "WAN": "wan", "SWAT": "swat", "ZIP": "zip", "LOL": "lol", "YOLO": "yolo", "ASAP": "A S A P",
    "NIMBY": "nimby", "SARS": "Sars", "MERS": "Mers", "INTERPOL": "Interpol", "WASP": "wasp", "FEMA": "Fema",
    "SQL": "sequel", "GUI": "gooey", "WiFi": "wifi", "CAPTCHA": "captcha", "DARPA": "Darpa", "OSHA": "Osha",
}  # fmt: skip
# All-caps words always spelled letter by letter even though they look pronounceable.
SPELLED = set(
    _words(
        "UCLA ACLU IEEE USSR NAACP NCAA NYPD LAPD IOU USA UK EU UN US IT ID AI TV PC CEO CFO CTO FAQ DIY "
        "VIP ATM ICU UFO URL HTML HTTP XML API GPU CPU USB DVD CD PDF BBC CNN CIA FBI NSA IRS EPA FDA DNA "
        "RNA MIT IBM AMA ETA PTO RSVP"
    )
)
# Short words that appear in all caps when text shouts; read them as words, not letters.
COMMON_SHORT_WORDS = set(
    _words(
        "NO OH HEY YES WOW BUT AND THE NOT YOU ALL NOW GO ME MY DO SO TO IS IN ON AT HE WE OF OR BE IF UP "
        "BY AN AS AM ARE WAS HAS HAD HIS HER SHE OUR OUT GET GOT CAN YOU BIG NEW OLD ONE TWO SIX TEN FOR "
        "NOR YET WHO WHY HOW HIM ITS LET RUN SEE SAY OFF EAT DOG CAT BAD SAD MAD HOT RED TOP END DAY WAY "
        "MAN MEN BOY CAR OWN USE TRY ASK FUN LAW WAR JOB ANY FEW WIN LIE DIE GOD BUY PAY SIT PUT CUT HIT "
        "HELP STOP YOUR YOU'RE THAT THIS WITH FROM HAVE WHAT WHEN THEY THEM THEN BEEN WERE SAID EACH WILL "
        "MORE SOME VERY MUCH MUST ONLY OVER SUCH TAKE INTO YEAR GOOD KNOW JUST LIKE LONG MAKE MANY LOOK "
        "COME WANT NEED LOVE HATE FREE LIVE KILL DEAD WHY WHO OKAY NEVER"
    )
)
# Capitalised words that show a new sentence began after a period that may belong to "U.S." or an initial.
NEW_SENTENCE_WORDS = set(
    _words(
        "The A An I It He She We They You This That These Those There Then But And So Yet Or In On At For "
        "If When While After Before Now His Her Its Our Their My Your What Who Why How Where"
    )
)

# Pronounceable shapes: English-like onset, vowel groups, medial clusters, coda.
ONSETS = _words(
    "b c d f g h j k l m n p r s t v w z bl br ch cl cr dr fl fr gl gr kl kn ph pl pr qu sc sh sk sl "
    "sm sn sp st sw th tr tw wh wr sch scr shr spl spr str thr kh khr chr ps gn"
)
_CODA = _words(
    "b c d f g k l m n p r s t x z ch ck ct ft ld lf lk lm lp lt mp nd ng nk ns nt ph pt rb rc rd rf "
    "rg rk rl rm rn rp rs rt sh sk sp ss st th ts ll ff zz nch rch rst rth tch"
)
PRONOUNCEABLE_RE = re.compile(
    rf"(?:{'|'.join(sorted(ONSETS, key=len, reverse=True))})?[aeiouy]{{1,2}}"
    rf"(?:[bcdfghjklmnpqrstvwxz]{{1,3}}[aeiouy]{{1,2}})*"
    rf"(?:{'|'.join(sorted(_CODA, key=len, reverse=True))})?"
)
