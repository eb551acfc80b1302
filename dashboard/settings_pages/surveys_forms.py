"""The Survey settings page's forms: a survey's title, a question (added or reworded), the reward.

Field names follow the services' arguments: ``text`` and ``title`` per language become
``text_en``/``text_he``/``text_fa``, a choice question's options one per line per language
(``choices_en``…; the lines of the three boxes belong together by position)."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from loyalty.services.program import MAX_RULE_POINTS
from retention_app.locale_format import text_direction
from surveys.models import QuestionKind
from surveys.services import CHOICE_LABEL_MAX_LENGTH, CUSTOM_KINDS, LANGUAGES, MAX_CHOICES, QUESTION_TEXT_MAX_LENGTH

LANGUAGE_NAMES = {"en": gettext_lazy("English"), "he": gettext_lazy("Hebrew"), "fa": gettext_lazy("Persian")}


def _per_language(form: forms.Form, name: str, label: Any, *, textarea: bool = False, rows: int = 2,
                  max_length: int | None = QUESTION_TEXT_MAX_LENGTH) -> None:
    for language in LANGUAGES:
        attrs = {"dir": text_direction(language), "lang": language}
        widget = forms.Textarea(attrs={**attrs, "rows": rows}) if textarea else forms.TextInput(attrs=attrs)
        form.fields[f"{name}_{language}"] = forms.CharField(
            label=f"{label} ({LANGUAGE_NAMES[language]})", required=False, max_length=max_length, widget=widget)


class SurveyTitleForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _per_language(self, "title", gettext_lazy("Title"))

    def texts(self) -> dict[str, str]:
        return {language: self.cleaned_data.get(f"title_{language}", "") for language in LANGUAGES}


class QuestionForm(forms.Form):
    """Add (``kind`` shown) or reword (``kind`` fixed: the answers given are typed by it)."""

    kind = forms.ChoiceField(label=gettext_lazy("Kind of question"),
                             choices=[(kind.value, kind.label) for kind in CUSTOM_KINDS])
    is_required = forms.BooleanField(label=gettext_lazy("An answer is required"), required=False)
    is_multiple = forms.BooleanField(label=gettext_lazy("Several options may be chosen"), required=False,
                                     help_text=gettext_lazy("For a choice question."))

    def __init__(self, *args: Any, kind: str | None = None, preset: bool = False, multiple_fixed: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _per_language(self, "text", gettext_lazy("Question"), textarea=True)
        if kind is None or kind == QuestionKind.CHOICE:
            _per_language(self, "choices", gettext_lazy("Options, one per line"), textarea=True, rows=4,
                          max_length=(CHOICE_LABEL_MAX_LENGTH + 1) * MAX_CHOICES)
        if kind is not None:
            del self.fields["kind"]
        if preset:
            del self.fields["is_required"]
        if multiple_fixed or (kind is not None and kind != QuestionKind.CHOICE):
            del self.fields["is_multiple"]
        self.question_kind = kind

    def texts(self) -> dict[str, str]:
        return {language: self.cleaned_data.get(f"text_{language}", "") for language in LANGUAGES}

    def choices(self) -> list[dict[str, Any]] | None:
        """The options as the service takes them: line *n* of each language box is option *n*."""
        if "choices_en" not in self.fields:
            return None
        lines = {language: [line.strip() for line in self.cleaned_data.get(f"choices_{language}", "").splitlines()]
                 for language in LANGUAGES}
        count = max(len(values) for values in lines.values())
        options = []
        for position in range(count):
            label = {language: values[position] for language, values in lines.items()
                     if position < len(values) and values[position]}
            if label:
                options.append({"label": label})
        return options

    @staticmethod
    def initial_for(question: Any) -> dict[str, Any]:
        initial: dict[str, Any] = {f"text_{language}": question.text.get(language, "") for language in LANGUAGES}
        for language in LANGUAGES:
            initial[f"choices_{language}"] = "\n".join(str(choice.get("label", {}).get(language, ""))
                                                       for choice in question.choices)
        initial.update(is_required=question.is_required, is_multiple=question.is_multiple)
        return initial


class SurveyRewardForm(forms.Form):
    """The loyalty program's rule for answering a survey (``RuleKind.SURVEY``)."""

    is_enabled = forms.BooleanField(label=gettext_lazy("Give points for answering a survey"), required=False)
    points = forms.IntegerField(label=gettext_lazy("Points per survey answered"), min_value=0,
                                max_value=MAX_RULE_POINTS,
                                help_text=gettext_lazy("Once per survey and customer, while the loyalty program "
                                                       "is on."))
