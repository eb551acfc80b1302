"""Static material for the generator: a cosmetics/haircare catalogue and names per locale."""

from __future__ import annotations

from typing import Final, NamedTuple


class ProductType(NamedTuple):
    name: str
    code: str
    category_id: str
    category_name: str
    category_full_name: str
    price_range: tuple[int, int]  # USD, whole units
    cost_ratio: tuple[float, float]  # unit cost / price
    sizes: tuple[str, ...]  # variant titles; () = single "Default Title" variant
    tags: tuple[str, ...]


_HAIR = "Health & Beauty > Personal Care > Hair Care"
_SKIN = "Health & Beauty > Personal Care > Cosmetics > Skin Care"

PRODUCT_TYPES: Final[tuple[ProductType, ...]] = (
    ProductType("Shampoo", "SHP", "gid://shopify/TaxonomyCategory/hb-3-2-10-1", "Shampoo",
                f"{_HAIR} > Shampoo & Conditioner > Shampoo", (16, 28), (0.18, 0.30),
                ("250 ml", "500 ml", "1 L"), ("sulfate-free", "hair")),
    ProductType("Conditioner", "CND", "gid://shopify/TaxonomyCategory/hb-3-2-10-2", "Conditioner",
                f"{_HAIR} > Shampoo & Conditioner > Conditioner", (16, 28), (0.18, 0.30),
                ("250 ml", "500 ml"), ("hair",)),
    ProductType("Hair Serum", "HSR", "gid://shopify/TaxonomyCategory/hb-3-2-7", "Hair Treatments",
                f"{_HAIR} > Hair Treatments", (29, 54), (0.12, 0.22),
                ("30 ml", "50 ml", "100 ml"), ("bestseller", "hair")),
    ProductType("Hair Mask", "HMK", "gid://shopify/TaxonomyCategory/hb-3-2-7", "Hair Treatments",
                f"{_HAIR} > Hair Treatments", (24, 39), (0.16, 0.28), ("200 ml", "500 ml"),
                ("hair", "repair")),
    ProductType("Hair Oil", "HOL", "gid://shopify/TaxonomyCategory/hb-3-2-7", "Hair Treatments",
                f"{_HAIR} > Hair Treatments", (22, 44), (0.14, 0.25), ("50 ml", "100 ml"),
                ("hair", "vegan")),
    ProductType("Face Cream", "FCR", "gid://shopify/TaxonomyCategory/hb-3-1-9-8",
                "Lotions & Moisturizers", f"{_SKIN} > Lotions & Moisturizers", (34, 78),
                (0.12, 0.24), ("30 ml", "50 ml"), ("skin", "bestseller")),
    ProductType("Face Serum", "FSR", "gid://shopify/TaxonomyCategory/hb-3-1-9-10",
                "Skin Care Serums", f"{_SKIN} > Skin Care Serums", (39, 89), (0.10, 0.20),
                ("15 ml", "30 ml"), ("skin", "vegan")),
    ProductType("Cleanser", "CLN", "gid://shopify/TaxonomyCategory/hb-3-1-9-3", "Facial Cleansers",
                f"{_SKIN} > Facial Cleansers", (14, 26), (0.20, 0.32), ("150 ml", "300 ml"),
                ("skin",)),
    ProductType("Sunscreen", "SUN", "gid://shopify/TaxonomyCategory/hb-3-1-9-13", "Sunscreen",
                f"{_SKIN} > Sunscreen", (19, 34), (0.20, 0.35), ("50 ml", "100 ml"),
                ("skin", "spf")),
    ProductType("Body Lotion", "BDL", "gid://shopify/TaxonomyCategory/hb-3-1-9-8",
                "Lotions & Moisturizers", f"{_SKIN} > Lotions & Moisturizers", (16, 32),
                (0.20, 0.34), ("200 ml", "400 ml"), ("body",)),
    ProductType("Gift Set", "GFT", "gid://shopify/TaxonomyCategory/hb-3-1-5", "Cosmetic Sets",
                "Health & Beauty > Personal Care > Cosmetics > Cosmetic Sets", (59, 139),
                (0.38, 0.55), (), ("gift",)),
)

PRODUCT_LINES: Final[tuple[tuple[str, str], ...]] = (
    ("Argan Repair", "ARG"),
    ("Rose Hydra", "ROS"),
    ("Sea Buckthorn", "SEA"),
    ("Silk Protein", "SLK"),
    ("Hyaluronic Boost", "HYA"),
    ("Charcoal Detox", "CHR"),
    ("Citrus Bloom", "CIT"),
    ("Oat Calm", "OAT"),
    ("Vitamin C Glow", "VTC"),
    ("Bamboo Strength", "BMB"),
    ("Lavender Night", "LAV"),
    ("Green Tea Balance", "GRT"),
)

VENDORS: Final = ("Lumière Botanics", "Lumière Botanics", "Lumière Botanics", "Northwood Labs",
                  "Saltwater & Sage")

CUSTOMER_TAGS: Final = ("newsletter", "instagram", "tiktok", "referral", "wholesale",
                        "sample-box", "loyalty-member")

EMAIL_DOMAINS: Final = ("example.com", "example.net", "example.org", "mail.example")

FIRST_NAMES: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    # (native script, latin transliteration); identical for English.
    "en": tuple((n, n) for n in (
        "Emma", "Olivia", "Ava", "Sophia", "Mia", "Isabella", "Charlotte", "Amelia", "Harper",
        "Evelyn", "Grace", "Chloe", "Zoe", "Lily", "Hannah", "Nora", "Riley", "Layla", "Ella",
        "Aria", "Ruby", "Maya", "Sarah", "Emily", "Liam", "Noah", "Oliver", "Elijah", "James",
        "William", "Benjamin", "Lucas", "Henry", "Daniel", "Matthew", "Ethan", "Jack", "Leo",
    )),
    "he": (
        ("נועה", "Noa"), ("תמר", "Tamar"), ("יעל", "Yael"), ("מאיה", "Maya"), ("שירה", "Shira"),
        ("אביגיל", "Avigail"), ("מיכל", "Michal"), ("רוני", "Roni"), ("ליה", "Lia"),
        ("הילה", "Hila"), ("עדי", "Adi"), ("דנה", "Dana"), ("קרן", "Keren"), ("ענבל", "Inbal"),
        ("אורי", "Ori"), ("איתי", "Itai"), ("יונתן", "Yonatan"), ("עומר", "Omer"),
        ("נועם", "Noam"), ("דניאל", "Daniel"),
    ),
    "fa": (
        ("سارا", "Sara"), ("مریم", "Maryam"), ("زهرا", "Zahra"), ("نگار", "Negar"),
        ("شیرین", "Shirin"), ("پریسا", "Parisa"), ("نازنین", "Nazanin"), ("لیلا", "Leila"),
        ("مهسا", "Mahsa"), ("یاسمن", "Yasaman"), ("بهار", "Bahar"), ("آرش", "Arash"),
        ("علی", "Ali"), ("رضا", "Reza"), ("کیان", "Kian"), ("امید", "Omid"),
    ),
}

LAST_NAMES: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "en": tuple((n, n) for n in (
        "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
        "Rodriguez", "Martinez", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Jackson",
        "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker", "Young",
        "Allen", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill",
        "Campbell", "Mitchell", "Roberts", "Carter", "O'Brien", "Evans",
    )),
    "he": (
        ("כהן", "Cohen"), ("לוי", "Levi"), ("מזרחי", "Mizrahi"), ("פרץ", "Peretz"),
        ("ביטון", "Biton"), ("דהן", "Dahan"), ("אברהם", "Avraham"), ("פרידמן", "Friedman"),
        ("אזולאי", "Azulay"), ("מלכה", "Malka"), ("שפירא", "Shapira"), ("גולן", "Golan"),
        ("אוחיון", "Ohayon"), ("ברק", "Barak"), ("רוזנברג", "Rosenberg"),
    ),
    "fa": (
        ("احمدی", "Ahmadi"), ("حسینی", "Hosseini"), ("رضایی", "Rezaei"), ("کریمی", "Karimi"),
        ("موسوی", "Mousavi"), ("محمدی", "Mohammadi"), ("جعفری", "Jafari"), ("صادقی", "Sadeghi"),
        ("رحیمی", "Rahimi"), ("کاظمی", "Kazemi"), ("تهرانی", "Tehrani"), ("نوری", "Nouri"),
    ),
}

#: Phone number prefix per locale; the customer index fills the rest, so numbers are unique.
PHONE_PREFIX: Final = {"en": ("+1", 2025550000), "he": ("+97250", 0), "fa": ("+98912", 0)}

CUSTOMER_NOTES: Final = (
    "Prefers fragrance-free products.",
    "Sensitive skin, asked about patch tests.",
    "Ordered for a salon; may want wholesale pricing.",
    "Asked to be told when Argan Repair is back in stock.",
)

CANCEL_REASONS: Final = (
    ("CUSTOMER", 50), ("INVENTORY", 20), ("FRAUD", 10), ("DECLINED", 10), ("OTHER", 10),
)

REFUND_NOTES: Final = (
    None, None, "Damaged in transit", "Wrong item shipped", "Customer changed their mind",
    "Allergic reaction", "Leaking bottle",
)


# --- addresses ---------------------------------------------------------------------------------


class Place(NamedTuple):
    """A city customers live in.  ``zip_format``: ``#`` a random digit, ``@`` a random letter."""

    country_code: str
    province_code: str | None
    city: str
    latitude: float
    longitude: float
    zip_format: str


COUNTRY_NAMES: Final = {
    "US": "United States", "CA": "Canada", "GB": "United Kingdom", "DE": "Germany",
    "AU": "Australia", "IL": "Israel", "IR": "Iran",
}

PROVINCE_NAMES: Final = {
    ("US", "AK"): "Alaska", ("US", "AZ"): "Arizona", ("US", "CA"): "California",
    ("US", "CO"): "Colorado", ("US", "FL"): "Florida", ("US", "GA"): "Georgia",
    ("US", "HI"): "Hawaii", ("US", "IL"): "Illinois", ("US", "IN"): "Indiana",
    ("US", "MA"): "Massachusetts", ("US", "MI"): "Michigan", ("US", "MN"): "Minnesota",
    ("US", "NY"): "New York", ("US", "TX"): "Texas", ("US", "UT"): "Utah",
    ("US", "WA"): "Washington",
    ("CA", "AB"): "Alberta", ("CA", "BC"): "British Columbia", ("CA", "MB"): "Manitoba",
    ("CA", "NL"): "Newfoundland and Labrador", ("CA", "NS"): "Nova Scotia",
    ("CA", "ON"): "Ontario", ("CA", "QC"): "Quebec",
    ("AU", "NSW"): "New South Wales", ("AU", "QLD"): "Queensland", ("AU", "SA"): "South Australia",
    ("AU", "VIC"): "Victoria", ("AU", "WA"): "Western Australia",
}

_P = Place
_NEW_YORK = _P("US", "NY", "New York", 40.7128, -74.0060, "100##")
_LOS_ANGELES = _P("US", "CA", "Los Angeles", 34.0522, -118.2437, "900##")
_MIAMI = _P("US", "FL", "Miami", 25.7617, -80.1918, "331##")
_HOUSTON = _P("US", "TX", "Houston", 29.7604, -95.3698, "770##")
_TORONTO = _P("CA", "ON", "Toronto", 43.6532, -79.3832, "M5V #@#")
_VANCOUVER = _P("CA", "BC", "Vancouver", 49.2827, -123.1207, "V6B #@#")
_LONDON = _P("GB", None, "London", 51.5074, -0.1278, "SW1A #@@")
_BERLIN = _P("DE", None, "Berlin", 52.5200, 13.4050, "10###")
_HAMBURG = _P("DE", None, "Hamburg", 53.5511, 9.9937, "20###")

#: Where each locale's customers live (place, weight): English speakers across the US (every
#: mainland zone plus Alaska and Hawaii), Canada (Newfoundland's half-hour zone included), the UK,
#: Australia and Germany; Hebrew speakers mostly in Israel, Persian speakers mostly in Iran, both
#: with a diaspora.
PLACES: Final[dict[str, tuple[tuple[Place, float], ...]]] = {
    "en": (
        (_NEW_YORK, 10), (_LOS_ANGELES, 8), (_P("US", "IL", "Chicago", 41.8781, -87.6298, "606##"), 6),
        (_HOUSTON, 5), (_P("US", "AZ", "Phoenix", 33.4484, -112.0740, "850##"), 4),
        (_P("US", "CO", "Denver", 39.7392, -104.9903, "802##"), 3),
        (_P("US", "WA", "Seattle", 47.6062, -122.3321, "981##"), 4), (_MIAMI, 4),
        (_P("US", "GA", "Atlanta", 33.7490, -84.3880, "303##"), 3),
        (_P("US", "MA", "Boston", 42.3601, -71.0589, "021##"), 3),
        (_P("US", "MI", "Detroit", 42.3314, -83.0458, "482##"), 2),
        (_P("US", "MN", "Minneapolis", 44.9778, -93.2650, "554##"), 2),
        (_P("US", "IN", "Indianapolis", 39.7684, -86.1581, "462##"), 1.5),
        (_P("US", "UT", "Salt Lake City", 40.7608, -111.8910, "841##"), 1.5),
        (_P("US", "AK", "Anchorage", 61.2181, -149.9003, "995##"), 1),
        (_P("US", "HI", "Honolulu", 21.3069, -157.8583, "968##"), 1),
        (_TORONTO, 4), (_VANCOUVER, 3), (_P("CA", "QC", "Montreal", 45.5017, -73.5673, "H2X #@#"), 2),
        (_P("CA", "AB", "Calgary", 51.0447, -114.0719, "T2P #@#"), 2),
        (_P("CA", "MB", "Winnipeg", 49.8951, -97.1384, "R3C #@#"), 1),
        (_P("CA", "NS", "Halifax", 44.6488, -63.5752, "B3H #@#"), 1),
        (_P("CA", "NL", "St. John's", 47.5615, -52.7126, "A1C #@#"), 0.5),
        (_LONDON, 6), (_P("GB", None, "Manchester", 53.4808, -2.2426, "M1 #@@"), 2),
        (_P("GB", None, "Edinburgh", 55.9533, -3.1883, "EH1 #@@"), 1.5),
        (_P("GB", None, "Birmingham", 52.4862, -1.8904, "B1 #@@"), 1.5),
        (_P("AU", "NSW", "Sydney", -33.8688, 151.2093, "20##"), 4),
        (_P("AU", "VIC", "Melbourne", -37.8136, 144.9631, "30##"), 3),
        (_P("AU", "QLD", "Brisbane", -27.4698, 153.0251, "40##"), 2),
        (_P("AU", "WA", "Perth", -31.9505, 115.8605, "60##"), 1.5),
        (_P("AU", "SA", "Adelaide", -34.9285, 138.6007, "50##"), 1),
        (_BERLIN, 2), (_P("DE", None, "Munich", 48.1351, 11.5820, "80###"), 2), (_HAMBURG, 1.5),
    ),
    "he": (
        (_P("IL", None, "Tel Aviv-Yafo", 32.0853, 34.7818, "61#####"), 25),
        (_P("IL", None, "Jerusalem", 31.7683, 35.2137, "91#####"), 20),
        (_P("IL", None, "Haifa", 32.7940, 34.9896, "31#####"), 12),
        (_P("IL", None, "Rishon LeZion", 31.9730, 34.7925, "75#####"), 8),
        (_P("IL", None, "Petah Tikva", 32.0840, 34.8878, "49#####"), 7),
        (_P("IL", None, "Be'er Sheva", 31.2520, 34.7915, "84#####"), 7),
        (_P("IL", None, "Netanya", 32.3215, 34.8532, "42#####"), 6),
        (_NEW_YORK, 6), (_LOS_ANGELES, 3), (_MIAMI, 2), (_LONDON, 2), (_BERLIN, 2),
    ),
    "fa": (
        (_P("IR", None, "Tehran", 35.6892, 51.3890, "1####-#####"), 35),
        (_P("IR", None, "Mashhad", 36.2605, 59.6168, "91###-#####"), 8),
        (_P("IR", None, "Isfahan", 32.6546, 51.6680, "81###-#####"), 8),
        (_P("IR", None, "Shiraz", 29.5918, 52.5837, "71###-#####"), 7),
        (_P("IR", None, "Tabriz", 38.0962, 46.2738, "51###-#####"), 6),
        (_P("IR", None, "Karaj", 35.8400, 50.9391, "31###-#####"), 5),
        (_LOS_ANGELES, 10), (_P("US", "CA", "San Jose", 37.3382, -121.8863, "951##"), 2),
        (_HOUSTON, 2), (_TORONTO, 6), (_VANCOUVER, 3), (_HAMBURG, 3), (_BERLIN, 2), (_LONDON, 3),
    ),
}

STREETS: Final[dict[str, tuple[str, ...]]] = {
    "US": ("Main St", "Oak Ave", "Maple Dr", "Park Ave", "Elm St", "Cedar Ln", "Washington Blvd",
           "Lakeview Dr", "Sunset Blvd", "Pine St", "Broadway", "Hillcrest Rd"),
    "CA": ("King St W", "Queen St E", "Main St", "Robson St", "Rue Sainte-Catherine",
           "Portage Ave", "Spring Garden Rd", "Water St", "Jasper Ave", "Bloor St W"),
    "GB": ("High Street", "Station Road", "Church Lane", "Victoria Road", "Park Road",
           "Green Lane", "Manor Road", "Kings Road", "Queen Street", "Mill Lane"),
    "AU": ("George St", "Collins St", "Queen St", "King St", "Hay St", "Flinders St",
           "Elizabeth St", "Rundle Mall", "Ann St", "Swanston St"),
    "DE": ("Hauptstraße", "Bahnhofstraße", "Gartenweg", "Schillerstraße", "Goethestraße",
           "Lindenallee", "Bergstraße", "Kirchweg", "Friedrichstraße", "Mozartstraße"),
    "IL": ("Herzl St", "Rothschild Blvd", "Dizengoff St", "Ben Yehuda St", "Jabotinsky St",
           "HaNassi Blvd", "Weizmann St", "Allenby St", "Bialik St", "Sokolov St"),
    "IR": ("Valiasr St", "Enghelab St", "Azadi St", "Shariati St", "Ferdowsi St", "Hafez St",
           "Saadi St", "Motahari St", "Taleghani St", "Keshavarz Blvd"),
}
