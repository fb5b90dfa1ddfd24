"""Forms of the template builder.

The inputs only turn what was typed into the values of the file format (whole numbers, lists of answers);
every rule about those values lives in ``template_format.parse_definition``, which the domain runs on the
whole definition after each change. ``attach_problems`` puts its messages next to the inputs they concern.
"""
from __future__ import annotations

import re

from flask_wtf.file import FileAllowed, FileField
from wtforms import BooleanField, IntegerField, SelectChoice, SelectField, StringField, TextAreaField

from portal.domain.template_format import (
    FIELD_TYPES, OPTION_NAMES, PLACEHOLDERS, PROGRAM_NEEDED_FIELDS, Field, in_admin_words, pair_only_refusal,
)
from portal.domain.template_store import SHIPPED_TEMPLATES, DraftEditError, derive_key
from portal.forms import PortalForm

FIELD_TYPE_NAMES = {
    "short_text": "Short text",
    "long_text": "Long text",
    "numbered_list": "Numbered list",
    "number": "Number",
    "choice": "Choice of answers",
    "meeting_modes": "Meeting modes with counts",
    "date": "Date",
    "acknowledgement": "Acknowledgement (accepted when signing)",
    "clause": "Fixed clause text",
    "signatures": "Signature block",
}
assert set(FIELD_TYPE_NAMES) == set(FIELD_TYPES)

PLACEHOLDER_HELP = ("You may write " + ", ".join("{" + name + "}" for name in PLACEHOLDERS)
                    + ": each is replaced for the pair (for example {mentee_name} by the mentee's name).")


def _clean_text(value):
    """Browsers send line breaks in a text area as CR LF; store plain line breaks, without outer spaces."""
    if value is None:
        return ""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


class WholeNumberField(IntegerField):
    """An integer input whose empty value is None (the option's default) and whose error says what to type."""

    def process_formdata(self, valuelist):
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            self.data = int(valuelist[0].strip())
        except ValueError:
            self.data = None
            raise ValueError("Enter a whole number, such as 3.") from None


def text_input(label: str, description: str = "", area: bool = False):
    kind = TextAreaField if area else StringField
    return kind(label, description=description, filters=[_clean_text])


# --- the template and its sections -----------------------------------------------------------------------------

class NewTemplateForm(PortalForm):
    name = text_input("Name of the new template",
                "For example 'Mentor Partnership Agreement'. It starts as a draft with one empty section.")


class TemplateTextForm(PortalForm):
    name = text_input("Name", "How program admins find it in lists.")
    title = text_input("Title", "The heading of the agreement, as the pair and the PDF show it.")
    intro = text_input("Introduction", "Shown under the title. " + PLACEHOLDER_HELP, area=True)


class SectionForm(PortalForm):
    title = text_input("Section title")
    intro = text_input("Introduction (optional)", "Shown under the section title. " + PLACEHOLDER_HELP,
                       area=True)


class NewSectionForm(SectionForm):
    key = text_input("Key (optional)", "A stable name used in exported files, such as 'goals'. Leave it empty "
                                       "to make one from the title. It cannot be changed later.")


AS_NEW_TEMPLATE = SelectChoice("new", "A new template (in draft)")


class ImportForm(PortalForm):
    file = FileField("Template file", description="A .json file exported from this portal (at most 256 KiB).",
                     validators=[FileAllowed(["json"], "Upload a .json template file exported from this portal.")])
    target = SelectField("Import it as", choices=[AS_NEW_TEMPLATE])

    def set_templates(self, summaries) -> None:
        self.target.choices = [AS_NEW_TEMPLATE] + [
            SelectChoice(str(s.template.id), f"A new draft version of '{s.template.name}'") for s in summaries]


SHIPPED_CHOICES = [SelectChoice("whprms", "WHPRMS Mentor Partnership Agreement"),
                   SelectChoice("ccmc", "CCMC Mentoring Agreement")]
assert {choice.value for choice in SHIPPED_CHOICES} == set(SHIPPED_TEMPLATES)


class ShippedTemplateForm(PortalForm):
    shipped = SelectField("Ready-made template", choices=SHIPPED_CHOICES)


class DefaultTemplateForm(PortalForm):
    template = SelectField("Default template for new pairs", validate_choice=False,
                           description="Preselected when you add a pair, and used by the pair import when a row "
                                       "names no template.")

    def set_templates(self, summaries) -> None:
        self.template.choices = [("", "None: choose for each pair")] + [
            (str(s.template.id), s.template.name) for s in summaries if s.in_use is not None]


class PublishForm(PortalForm):
    """The confirmation at the end of the publish checklist."""

    accept_warnings = BooleanField("I have read the warnings above and want to publish this version anyway")


# --- fields ----------------------------------------------------------------------------------------------------

def _lines_to_entries(value: str, id_name: str, fallback: str) -> list[dict]:
    """Answers typed one per line, as 'value | label' or just 'label' (the value is then made from it)."""
    entries, taken = [], set()
    for line in (value or "").splitlines():
        if not line.strip():
            continue
        if "|" in line:
            ident, label = (part.strip() for part in line.split("|", 1))
        else:
            ident, label = "", line.strip()
        if not ident:
            ident = derive_key(label, taken, fallback=fallback)
        taken.add(ident)
        entries.append({id_name: ident, "label": label})
    return entries


def _entries_to_lines(entries, id_name: str) -> str:
    return "\n".join(f"{getattr(entry, id_name)} | {entry.label}" for entry in entries)


class FieldForm(PortalForm):
    """What every field has. Subclasses add the options of one type (named exactly as in the file format)."""

    field_type: str = ""
    key = text_input("Key (optional)", "A stable name used in exported files, such as 'objectives'. Leave it "
                                       "empty to make one from the label. It cannot be changed later.")
    label = text_input("Label", "What the form asks. For a blank inside a sentence write the sentence with ____ "
                                "where the blank is. " + PLACEHOLDER_HELP, area=True)
    help = text_input("Help text (optional)", "Shown under the field.", area=True)
    required = BooleanField("Required: the agreement cannot be signed while this is empty")
    pair_only = BooleanField("Confidential to the pair: never shown to supervisors or program admins")

    def options(self) -> dict:
        """The type's options, as the file format writes them."""
        return {}

    def attributes(self) -> dict:
        values = {"label": self.label.data, "help": self.help.data}
        if "required" in self._fields:
            values.update(required=self.required.data, pair_only=self.pair_only.data)
        values.update(self.options())
        return values

    @classmethod
    def data_of(cls, field: Field) -> dict:
        """What the inputs show for an existing field."""
        data = {"label": field.label, "help": field.help, "required": field.required, "pair_only": field.pair_only}
        data.update({name: field.options[name] for name in OPTION_NAMES[cls.field_type]})
        return data

    @classmethod
    def new_data(cls) -> dict:
        """What the inputs show for a new field of this type: the format's defaults."""
        return {}


def _number_or(value, default):
    return default if value is None else value


class ShortTextForm(FieldForm):
    field_type = "short_text"
    max_length = WholeNumberField("Longest answer (characters)", description="1 to 1,000. Empty: 200.")

    def options(self):
        return {"max_length": _number_or(self.max_length.data, 200)}

    @classmethod
    def new_data(cls):
        return {"max_length": 200}


class LongTextForm(FieldForm):
    field_type = "long_text"
    max_length = WholeNumberField("Longest answer (characters)", description="1 to 20,000. Empty: 4,000.")

    def options(self):
        return {"max_length": _number_or(self.max_length.data, 4000)}

    @classmethod
    def new_data(cls):
        return {"max_length": 4000}


class NumberedListForm(FieldForm):
    field_type = "numbered_list"
    min_items = WholeNumberField("Fewest items to fill in", description="0 to 50. Empty: 1.")
    max_items = WholeNumberField("Most items", description="1 to 50: how many numbered lines the form has. "
                                                           "Empty: 10.")
    item_label = text_input("Item label (optional)", "Each line is called this and numbered: 'Objective' gives "
                                                     "Objective 1, Objective 2 ...")
    max_length = WholeNumberField("Longest item (characters)", description="1 to 4,000. Empty: 500.")

    def options(self):
        return {"min_items": _number_or(self.min_items.data, 1), "max_items": _number_or(self.max_items.data, 10),
                "item_label": self.item_label.data, "max_length": _number_or(self.max_length.data, 500)}

    @classmethod
    def new_data(cls):
        return {"min_items": 1, "max_items": 3, "item_label": "", "max_length": 500}


class NumberForm(FieldForm):
    field_type = "number"
    min = WholeNumberField("Lowest allowed", description="Empty: 0.")
    max = WholeNumberField("Highest allowed", description="Empty: 1,000.")
    suggested = WholeNumberField("Suggested value (optional)", description="Filled in for the pair, who may "
                                                                           "change it. Empty: nothing.")
    unit = text_input("Unit (optional)", "Shown after the number, e.g. 'months'.")

    def options(self):
        return {"min": _number_or(self.min.data, 0), "max": _number_or(self.max.data, 1000),
                "suggested": self.suggested.data, "unit": self.unit.data}

    @classmethod
    def new_data(cls):
        return {"min": 0, "max": 1000, "suggested": None, "unit": ""}


class ChoiceForm(FieldForm):
    field_type = "choice"
    options_text = text_input("Answers, one per line",
                        "Write 'value | label', e.g. 'weekly | every week'. The value is what exports and "
                        "reports keep; write just the label to have the value made from it.", area=True)
    allow_other = BooleanField("Offer 'other' with a free answer")

    def options(self):
        return {"options": _lines_to_entries(self.options_text.data, "value", "option"),
                "allow_other": self.allow_other.data}

    @classmethod
    def data_of(cls, field):
        data = super().data_of(field)
        data["options_text"] = _entries_to_lines(data.pop("options"), "value")
        return data

    @classmethod
    def new_data(cls):
        return {"options_text": "", "allow_other": False}


class MeetingModesForm(FieldForm):
    field_type = "meeting_modes"
    modes_text = text_input("Ways of meeting, one per line",
                      "Write 'key | label', e.g. 'phone | Phone'; the pair gives a count for each. Write just the "
                      "label to have the key made from it.", area=True)
    allow_other = BooleanField("Offer 'other', with its own label and count")

    def options(self):
        return {"modes": _lines_to_entries(self.modes_text.data, "key", "mode"), "allow_other": self.allow_other.data}

    @classmethod
    def data_of(cls, field):
        data = super().data_of(field)
        data["modes_text"] = _entries_to_lines(data.pop("modes"), "key")
        return data

    @classmethod
    def new_data(cls):
        return {"modes_text": "face_to_face | Face to face\nphone | Phone\nemail | E-mail", "allow_other": True}


class DateForm(FieldForm):
    field_type = "date"


class _ProseForm(FieldForm):
    label = text_input("Heading (optional)", "Shown above the text. " + PLACEHOLDER_HELP, area=True)
    required = None  # these fields hold no value: nothing to require, nothing confidential
    pair_only = None

    def options(self):
        return {"text": self.text.data}

    @classmethod
    def data_of(cls, field):
        return {"label": field.label, "help": field.help, "text": field.text}


class AcknowledgementForm(_ProseForm):
    field_type = "acknowledgement"
    text = text_input("Text each signer accepts", "Each member of the pair accepts it when signing. "
                + PLACEHOLDER_HELP, area=True)


class ClauseForm(_ProseForm):
    field_type = "clause"
    text = text_input("Clause text", "Fixed prose of the program; the pair reads it and cannot change it. "
                + PLACEHOLDER_HELP, area=True)


SIGNER_ORDERS = [SelectChoice("mentor,mentee", "Mentor first, then mentee"),
                 SelectChoice("mentee,mentor", "Mentee first, then mentor")]


class SignaturesForm(FieldForm):
    field_type = "signatures"
    label = text_input("Heading (optional)", area=True)
    required = None
    pair_only = None
    signers = SelectField("Order of the signature lines", choices=SIGNER_ORDERS, default="mentor,mentee")
    printed_name = BooleanField("A 'printed name' column")
    date = BooleanField("A 'date' column")

    def options(self):
        return {"signers": self.signers.data.split(","), "printed_name": self.printed_name.data,
                "date": self.date.data}

    @classmethod
    def data_of(cls, field):
        return {"label": field.label, "help": field.help, "signers": ",".join(field.signers),
                "printed_name": field.option("printed_name"), "date": field.option("date")}

    @classmethod
    def new_data(cls):
        return {"signers": "mentor,mentee", "printed_name": True, "date": True}


FIELD_FORMS: dict[str, type[FieldForm]] = {form.field_type: form for form in (
    ShortTextForm, LongTextForm, NumberedListForm, NumberForm, ChoiceForm, MeetingModesForm, DateForm,
    AcknowledgementForm, ClauseForm, SignaturesForm)}
assert set(FIELD_FORMS) == set(FIELD_TYPES)

# An option whose input has another name (a text area of lines for a list of objects).
INPUT_OF_ATTRIBUTE = {"options": "options_text", "modes": "modes_text"}


def field_form(field_type: str, key: str = "", **kwargs) -> FieldForm:
    """The editor's form for a field of this type: an existing one (`key`) or a new one (no key yet).

    A field the program needs (the term) cannot be pair-only: its checkbox is disabled and says why. A new
    field of such a type is told which key that is; parse_definition refuses the flag whatever is posted."""
    form = FIELD_FORMS[field_type](prefix="field", **kwargs)
    if form.pair_only is None:
        return form
    refusal = pair_only_refusal(key, field_type) if key else None
    if refusal is not None:
        form.pair_only.render_kw = {"disabled": True}
        form.pair_only.description = f"Not possible for this field, because {refusal}."
    elif not key:
        needed = [needed_key for needed_key, needed_type in PROGRAM_NEEDED_FIELDS if needed_type == field_type]
        if needed:
            form.pair_only.description = (
                "Not possible for " + ", ".join(f"the key '{k}'" for k in needed) + ", because "
                + PROGRAM_NEEDED_FIELDS[(needed[0], field_type)] + ".")
    return form


# --- problems next to their inputs ------------------------------------------------------------------------------

_COMPARED_NAME = re.compile(r"\b([a-z_]+) \(")


def humanize(message: str, attribute: str, form: PortalForm) -> str:
    """A message of parse_definition as it reads under its input: 'max_items must be ...' -> 'This must be ...'.

    Other inputs named in the message (min_items (3) is more than max_items (1)) are called by their labels.
    """
    def label_of(name: str) -> str | None:
        input_name = INPUT_OF_ATTRIBUTE.get(name, name)
        return form[input_name].label.text.removesuffix(" (optional)") if input_name in form else None

    if message.startswith(attribute + " "):
        rest = message[len(attribute) + 1:]
        message = rest if rest.startswith("(") else "This " + rest
        if rest.startswith("("):
            message = f"'{label_of(attribute)}' {rest}"
    message = message.replace("min..max", "the allowed range")
    message = _COMPARED_NAME.sub(
        lambda m: f"'{label_of(m.group(1))}' (" if label_of(m.group(1)) else m.group(0), message)
    return message[:1].upper() + message[1:]


def attach_problems(form: PortalForm, problems: DraftEditError) -> list[str]:
    """Put each problem under the input it concerns; return the ones that concern none (shown on the form)."""
    general = list(problems.general)
    for attribute, messages in problems.by_attribute.items():
        input_name = INPUT_OF_ATTRIBUTE.get(attribute, attribute)
        if input_name in form:
            form[input_name].errors = list(form[input_name].errors) + [
                in_admin_words(humanize(message, attribute, form)) for message in messages]
        else:
            general.extend(messages)
    return [in_admin_words(message[:1].upper() + message[1:]) for message in general]
