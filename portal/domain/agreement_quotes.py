"""What the pair's own agreement says about a step of the mentorship (review, renewal, asking for help, ending
early), quoted on that step's page.

Each program's paper form words these steps differently, and some say nothing of a step (CCMC's form has no
clause on renewal or outside help). A page quotes a sentence only when it is found, word for word, in the
agreement's own template; otherwise it quotes nothing. A pair is never told it agreed to a sentence that is
not in its agreement, whichever program it belongs to and however the program words its template.
"""
from __future__ import annotations

import re

from portal.domain.template_format import TemplateDefinition

# The sentences of the two paper forms (../shared/forms) that speak of each step, in the order tried.
SENTENCES: dict[str, tuple[str, ...]] = {
    "review": (
        "At the end of this period of time, we will review this agreement, evaluate our progress, and reach a "
        "learning conclusion.",                                                                     # WHPRMS
        "At the end of that period, we agree to evaluate the effectiveness and outcomes of the mentorship.",  # CCMC
    ),
    "renew": (
        "If we choose to continue our mentoring partnership, we may negotiate a basis for continuation, so long "
        "as we have stipulated mutually agreed-on goals.",                                          # WHPRMS
    ),
    "help": (
        "In the event one of us believes it is not longer productive for us to continue or the learning "
        "situation is compromised, we may decide to seek outside intervention or conclude the relationship.",  # WHPRMS
    ),
    "end": (
        "In the event that either of us finds this mentorship unproductive or ineffective, we agree to terminate "
        "the mentorship without blame or hard feelings.",                                           # CCMC
        "In the event one of us believes it is not longer productive for us to continue or the learning "
        "situation is compromised, we may decide to seek outside intervention or conclude the relationship. In "
        "this event, we agree to use closure as a learning opportunity.",                           # WHPRMS
    ),
}
STEPS = tuple(SENTENCES)
_SPACE = re.compile(r"\s+")


def _plain(text: str) -> str:
    return _SPACE.sub(" ", text).strip().casefold()


def _wording(definition: TemplateDefinition) -> str:
    """Every piece of prose the template shows the pair, as one normalised text."""
    parts = [definition.title, definition.intro]
    for section in definition.sections:
        parts += [section.title, section.intro]
        parts += [piece for field in section.fields for piece in (field.label, field.help, field.text)]
    return _plain(" \n ".join(part for part in parts if part))


def quote(definition: TemplateDefinition | None, step: str) -> str | None:
    """The sentence the agreement itself says about `step` (one of STEPS), or None when it says none of them."""
    if step not in SENTENCES:
        raise KeyError(step)
    if definition is None:
        return None
    wording = _wording(definition)
    return next((sentence for sentence in SENTENCES[step] if _plain(sentence) in wording), None)
