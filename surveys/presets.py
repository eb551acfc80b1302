"""The surveys every shop starts with (switched off), in English, Hebrew and Persian."""

from typing import Any

from surveys.models import ProfileField, QuestionKind, SurveyKind


def _choice(value: str, en: str, he: str, fa: str) -> dict[str, Any]:
    return {"value": value, "label": {"en": en, "he": he, "fa": fa}}


PRESETS: dict[str, dict[str, Any]] = {
    "nps": {
        "kind": SurveyKind.NPS,
        "title": {"en": "Would you recommend us?", "he": "הייתם ממליצים עלינו?", "fa": "ما را توصیه می‌کنید؟"},
        "questions": [
            {"key": "recommend", "kind": QuestionKind.SCORE, "is_required": True,
             "text": {"en": "How likely are you to recommend us to a friend or colleague?",
                      "he": "עד כמה סביר שתמליצו עלינו לחבר או לעמית?",
                      "fa": "چقدر احتمال دارد ما را به یک دوست یا همکار توصیه کنید؟"}},
            {"key": "reason", "kind": QuestionKind.TEXT,
             "text": {"en": "What is the main reason for your score?",
                      "he": "מה הסיבה העיקרית לציון שנתתם?",
                      "fa": "دلیل اصلی امتیاز شما چیست؟"}},
        ],
    },
    "satisfaction": {
        "kind": SurveyKind.SATISFACTION,
        "title": {"en": "How was your order?", "he": "איך הייתה ההזמנה שלכם?", "fa": "سفارش شما چطور بود؟"},
        "questions": [
            {"key": "met_expectations", "kind": QuestionKind.YES_NO, "is_required": True,
             "text": {"en": "Did the products meet your expectations?",
                      "he": "האם המוצרים עמדו בציפיות שלכם?",
                      "fa": "آیا محصولات مطابق انتظار شما بود؟"}},
            {"key": "on_time", "kind": QuestionKind.YES_NO, "is_required": True,
             "text": {"en": "Did your order arrive on time?",
                      "he": "האם ההזמנה הגיעה בזמן?",
                      "fa": "آیا سفارش شما به موقع رسید؟"}},
            {"key": "well_packed", "kind": QuestionKind.YES_NO, "is_required": True,
             "text": {"en": "Was your order well packed?",
                      "he": "האם ההזמנה נארזה היטב?",
                      "fa": "آیا سفارش شما به خوبی بسته‌بندی شده بود؟"}},
            {"key": "comment", "kind": QuestionKind.TEXT,
             "text": {"en": "Is there anything we could do better?",
                      "he": "יש משהו שנוכל לעשות טוב יותר?",
                      "fa": "آیا کاری هست که بتوانیم بهتر انجام دهیم؟"}},
        ],
    },
    "zero_party": {
        "kind": SurveyKind.ZERO_PARTY,
        "title": {"en": "Tell us about yourself", "he": "ספרו לנו על עצמכם", "fa": "درباره خودتان به ما بگویید"},
        "questions": [
            {"key": "birthday", "kind": QuestionKind.DATE, "profile_field": ProfileField.BIRTHDAY,
             "text": {"en": "When is your birthday? We would like to send you a gift.",
                      "he": "מתי יום ההולדת שלכם? נשמח לשלוח לכם מתנה.",
                      "fa": "تولد شما چه روزی است؟ دوست داریم برایتان هدیه‌ای بفرستیم."}},
            {"key": "interests", "kind": QuestionKind.CHOICE, "is_multiple": True,
             "profile_field": ProfileField.INTERESTS,
             "text": {"en": "What are you interested in?",
                      "he": "במה אתם מתעניינים?",
                      "fa": "به چه چیزهایی علاقه دارید؟"},
             "choices": [
                 _choice("new_arrivals", "New arrivals", "מוצרים חדשים", "محصولات جدید"),
                 _choice("offers", "Sales and offers", "מבצעים והנחות", "حراج‌ها و تخفیف‌ها"),
                 _choice("gift_ideas", "Gift ideas", "רעיונות למתנות", "ایده‌های هدیه"),
                 _choice("tips", "Tips and guides", "טיפים ומדריכים", "نکته‌ها و راهنماها"),
             ]},
            {"key": "shopping_for", "kind": QuestionKind.CHOICE, "is_multiple": True,
             "profile_field": ProfileField.PREFERENCES,
             "text": {"en": "Who do you usually shop for?",
                      "he": "בשביל מי אתם קונים בדרך כלל?",
                      "fa": "معمولاً برای چه کسی خرید می‌کنید؟"},
             "choices": [
                 _choice("myself", "Myself", "לעצמי", "خودم"),
                 _choice("family", "My family", "למשפחה", "خانواده‌ام"),
                 _choice("gifts", "Gifts for others", "מתנות לאחרים", "هدیه برای دیگران"),
             ]},
        ],
    },
}
