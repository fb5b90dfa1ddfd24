"""What the agreement page shows a given person: a plain data object that templates render."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from portal.domain import agreements as agreement_rules
from portal.domain import signed_content, signing
from portal.domain.field_values import (
    BlankSentence, Segment, blank_in_sentence, fill_blanks, fingerprint, input_names, is_empty, missing_required,
)
from portal.domain.template_format import Field, Section, TemplateDefinition, substitute_placeholders
from portal.domain.template_store import definition_of
from portal.models import Agreement, SignedVersion, User


@dataclass
class FieldState:
    """One field as the page shows it: the value in the inputs, the version it is based on, and any problem."""
    field: Field
    value: Any
    version: int
    updated_by: str | None = None
    updated_at: Any = None
    error: str | None = None
    conflict: agreement_rules.SaveResult | None = None
    unreadable: bool = False
    # The digest of the value at `version` when the inputs hold something else (a refused or clashing
    # answer); "" when it is not known. None: the inputs hold that version's value.
    base: str | None = None

    @property
    def base_digest(self) -> str:
        """What the page sends back as `b-<key>`: the digest of the value its version holds, by which a
        submission tells whether the person changed this answer (agreements.save_submission)."""
        return fingerprint(self.field, self.value) if self.base is None else self.base

    @property
    def param_names(self) -> list[str]:
        """The form names this field's autosave sends (htmx hx-params): its inputs, the version and digest they
        are based on, and the partner's version a conflict showed."""
        key = self.field.key
        return [*input_names(self.field), f"v-{key}", f"b-{key}", f"cv-{key}", "resolve"]


@dataclass
class AgreementPage:
    agreement: Agreement
    definition: TemplateDefinition
    is_member: bool
    editable: bool
    fields: dict[str, FieldState]
    placeholders: dict[str, str]
    missing: list[Field] = field(default_factory=list)
    signing: signing.SigningStatus | None = None
    # Set when the page shows a signed version (from its record) rather than the live agreement.
    signed_version: SignedVersion | None = None
    viewer: User | None = None

    @cached_property
    def life(self):
        """Closure, the chain of renewals and the renewed goals' confirmations (read when the page shows it)."""
        from portal.domain.pair_life import agreement_life
        return agreement_life(self.agreement, self.viewer, self.is_member)

    @property
    def sections(self) -> tuple[Section, ...]:
        return self.definition.sections

    @property
    def has_pair_only_fields(self) -> bool:
        """Whether any answer of this agreement stays with the pair (otherwise the program reads them all)."""
        return any(f.pair_only for f in self.definition.fields if f.stores_value)

    def visible(self, f: Field) -> bool:
        """Pair-only fields are absent from the page of anyone outside the pair."""
        return self.is_member or not f.pair_only

    def prose(self, text: str) -> str:
        return substitute_placeholders(text, self.placeholders)

    def inline(self, f: Field) -> list[Segment] | None:
        """The field's sentence with its answer written into the blanks, as the PDF copy reads it; None when the
        answer is shown under its label instead."""
        state = self.fields.get(f.key)
        if state is None or state.unreadable:
            return None
        return fill_blanks(f, self.prose(f.label), state.value)

    def blank_sentence(self, f: Field) -> BlankSentence | None:
        """The label's sentence around the one blank the field's input fills in the editor (None: label above)."""
        return blank_in_sentence(f, self.prose(f.label))

    def field_cache_key(self, state: FieldState, oob: bool = False):
        """What one field's markup is a function of, for the fragment cache (portal/fragment_cache.py); None
        when it must be rendered afresh: a pair-only field (its value never goes into a cache), a problem shown
        with it (error, conflict, unreadable), or a draft template version (parsed anew on every request)."""
        if (state.field.pair_only or state.error or state.conflict or state.unreadable
                or self.agreement.template_version.state == "draft"):
            return None
        try:
            value = json.dumps(state.value, sort_keys=True)
        except (TypeError, ValueError):
            return None
        return self.definition, (
            state.field.key, value, state.version, state.updated_by, state.updated_at, bool(oob),
            self.agreement.id, self.editable, self.is_member, self.signed_version is not None,
            tuple(sorted(self.placeholders.items())))

    def has_value(self, key: str) -> bool:
        state = self.fields.get(key)
        return state is not None and not is_empty(state.value)


def placeholders_for(agreement: Agreement) -> dict[str, str]:
    pair = agreement.pair
    return {
        "program_name": pair.program.name,
        "return_address": pair.program.return_email,
        "mentor_name": pair.mentor.name,
        "mentee_name": pair.mentee.name,
        "term_months": str(agreement.term_months),
    }


def agreement_page(agreement: Agreement, viewer: User, is_member: bool) -> AgreementPage:
    definition = definition_of(agreement.template_version)
    stored = agreement_rules.read_fields(agreement, definition, include_pair_only=is_member)
    fields = {key: FieldState(definition.field(key), s.value, s.version, s.updated_by, s.updated_at,
                              unreadable=s.unreadable)
              for key, s in stored.items() if definition.field(key) is not None}
    page = AgreementPage(
        agreement=agreement, definition=definition, is_member=is_member,
        editable=is_member and agreement.state in agreement_rules.EDITABLE_STATES,
        fields=fields, placeholders=placeholders_for(agreement), viewer=viewer)
    if is_member:
        page.missing = missing_required(definition, {key: state.value for key, state in fields.items()})
    # A member's page has read every field of the agreement: the newest change among them names the content.
    newest_change = max((s.changed_seq for s in stored.values()), default=0) if is_member else None
    page.signing = signing.signing_status(agreement, viewer, is_member, definition, newest_change)
    return page


def signed_version_page(agreement: Agreement, version: SignedVersion, viewer: User, is_member: bool) -> AgreementPage:
    """One signed version as it was signed, from its immutable record: the pair sees every field, anyone else
    the program's part only (the pair-only values are not even decrypted for them)."""
    definition = definition_of(version.template_version)
    content = signing.public_content(version)
    unreadable = False
    if is_member:
        try:
            content = signing.full_content(version, agreement.pair_id)
        except signing.PairOnlyPurged:
            pass  # deleted by the retention purge: the program's part is what is left (the page says so)
        except signing.UnreadableContent:
            unreadable = True
    fields = {key: FieldState(definition.field(key), value, 0)
              for key, value in content["fields"].items() if definition.field(key) is not None}
    page = AgreementPage(agreement=agreement, definition=definition, is_member=is_member, editable=False,
                         fields=fields, placeholders=signed_content.placeholders_of(content))
    if unreadable:  # the pair-only part did not decrypt: show the fields as unreadable rather than absent
        for f in definition.fields:
            if f.pair_only and f.stores_value:
                page.fields[f.key] = FieldState(f, None, 0, unreadable=True)
    page.signing = signing.version_status(agreement, version, is_member, viewer)
    page.signed_version = version
    return page
