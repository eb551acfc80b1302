"""Data: the preset surveys for shops installed before presets were made at install.

Reads no longer create presets (a page view writes nothing), so the shops installed earlier get
them here.  ``PRESETS`` is a frozen copy of ``surveys/presets.py`` as of this migration: later
edits of the presets do not change what it did.  Idempotent: a shop's existing surveys are kept.
"""

from django.db import migrations

PRESETS = {
    "nps": {
        "kind": "nps",
        "title": {"en": "Would you recommend us?", "he": "הייתם ממליצים עלינו?", "fa": "ما را توصیه می\u200cکنید؟"},
        "questions": [
            {
                "key": "recommend",
                "kind": "score",
                "is_required": True,
                "text": {
                    "en": "How likely are you to recommend us to a friend or colleague?",
                    "he": "עד כמה סביר שתמליצו עלינו לחבר או לעמית?",
                    "fa": "چقدر احتمال دارد ما را به یک دوست یا همکار توصیه کنید؟",
                },
            },
            {
                "key": "reason",
                "kind": "text",
                "text": {
                    "en": "What is the main reason for your score?",
                    "he": "מה הסיבה העיקרית לציון שנתתם?",
                    "fa": "دلیل اصلی امتیاز شما چیست؟",
                },
            },
        ],
    },
    "satisfaction": {
        "kind": "satisfaction",
        "title": {"en": "How was your order?", "he": "איך הייתה ההזמנה שלכם?", "fa": "سفارش شما چطور بود؟"},
        "questions": [
            {
                "key": "met_expectations",
                "kind": "yes_no",
                "is_required": True,
                "text": {
                    "en": "Did the products meet your expectations?",
                    "he": "האם המוצרים עמדו בציפיות שלכם?",
                    "fa": "آیا محصولات مطابق انتظار شما بود؟",
                },
            },
            {
                "key": "on_time",
                "kind": "yes_no",
                "is_required": True,
                "text": {
                    "en": "Did your order arrive on time?",
                    "he": "האם ההזמנה הגיעה בזמן?",
                    "fa": "آیا سفارش شما به موقع رسید؟",
                },
            },
            {
                "key": "well_packed",
                "kind": "yes_no",
                "is_required": True,
                "text": {
                    "en": "Was your order well packed?",
                    "he": "האם ההזמנה נארזה היטב?",
                    "fa": "آیا سفارش شما به خوبی بسته\u200cبندی شده بود؟",
                },
            },
            {
                "key": "comment",
                "kind": "text",
                "text": {
                    "en": "Is there anything we could do better?",
                    "he": "יש משהו שנוכל לעשות טוב יותר?",
                    "fa": "آیا کاری هست که بتوانیم بهتر انجام دهیم؟",
                },
            },
        ],
    },
    "zero_party": {
        "kind": "zero_party",
        "title": {"en": "Tell us about yourself", "he": "ספרו לנו על עצמכם", "fa": "درباره خودتان به ما بگویید"},
        "questions": [
            {
                "key": "birthday",
                "kind": "date",
                "profile_field": "birthday",
                "text": {
                    "en": "When is your birthday? We would like to send you a gift.",
                    "he": "מתי יום ההולדת שלכם? נשמח לשלוח לכם מתנה.",
                    "fa": "تولد شما چه روزی است؟ دوست داریم برایتان هدیه\u200cای بفرستیم.",
                },
            },
            {
                "key": "interests",
                "kind": "choice",
                "is_multiple": True,
                "profile_field": "interests",
                "text": {
                    "en": "What are you interested in?",
                    "he": "במה אתם מתעניינים?",
                    "fa": "به چه چیزهایی علاقه دارید؟",
                },
                "choices": [
                    {
                        "value": "new_arrivals",
                        "label": {"en": "New arrivals", "he": "מוצרים חדשים", "fa": "محصولات جدید"},
                    },
                    {
                        "value": "offers",
                        "label": {
                            "en": "Sales and offers",
                            "he": "מבצעים והנחות",
                            "fa": "حراج\u200cها و تخفیف\u200cها",
                        },
                    },
                    {
                        "value": "gift_ideas",
                        "label": {"en": "Gift ideas", "he": "רעיונות למתנות", "fa": "ایده\u200cهای هدیه"},
                    },
                    {
                        "value": "tips",
                        "label": {"en": "Tips and guides", "he": "טיפים ומדריכים", "fa": "نکته\u200cها و راهنماها"},
                    },
                ],
            },
            {
                "key": "shopping_for",
                "kind": "choice",
                "is_multiple": True,
                "profile_field": "preferences",
                "text": {
                    "en": "Who do you usually shop for?",
                    "he": "בשביל מי אתם קונים בדרך כלל?",
                    "fa": "معمولاً برای چه کسی خرید می\u200cکنید؟",
                },
                "choices": [
                    {"value": "myself", "label": {"en": "Myself", "he": "לעצמי", "fa": "خودم"}},
                    {"value": "family", "label": {"en": "My family", "he": "למשפחה", "fa": "خانواده\u200cام"}},
                    {
                        "value": "gifts",
                        "label": {"en": "Gifts for others", "he": "מתנות לאחרים", "fa": "هدیه برای دیگران"},
                    },
                ],
            },
        ],
    },
}

BATCH = 500


def presets_create(apps, schema_editor):
    Shop = apps.get_model("commerce", "Shop")
    Survey = apps.get_model("surveys", "Survey")
    Question = apps.get_model("surveys", "Question")
    shop_ids = list(Shop.objects.filter(status="installed").order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(shop_ids), BATCH):
        batch = shop_ids[start : start + BATCH]
        existing = set(Survey.objects.filter(shop_id__in=batch).values_list("shop_id", "key"))
        missing = [(shop_id, key) for shop_id in batch for key in PRESETS if (shop_id, key) not in existing]
        Survey.objects.bulk_create(
            [
                Survey(shop_id=shop_id, key=key, kind=PRESETS[key]["kind"], title=PRESETS[key]["title"])
                for shop_id, key in missing
            ]
        )
        wanted = set(missing)
        made = [
            survey
            for survey in Survey.objects.filter(shop_id__in=batch, key__in=list(PRESETS))
            if (survey.shop_id, survey.key) in wanted
        ]
        Question.objects.bulk_create(
            [
                Question(
                    shop_id=survey.shop_id,
                    survey_id=survey.pk,
                    position=position,
                    key=question["key"],
                    kind=question["kind"],
                    text=question["text"],
                    choices=question.get("choices", []),
                    is_required=question.get("is_required", False),
                    is_multiple=question.get("is_multiple", False),
                    profile_field=question.get("profile_field", ""),
                )
                for survey in made
                for position, question in enumerate(PRESETS[survey.key]["questions"])
            ]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("commerce", "0006_shop_storefront_url"),
        ("surveys", "0001_initial"),
    ]

    operations = [migrations.RunPython(presets_create, migrations.RunPython.noop)]
