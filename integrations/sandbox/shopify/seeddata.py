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
