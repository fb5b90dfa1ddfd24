"""Template area views. Programs, templates and versions are loaded through the policy loaders with the program
id of the address, so another program's template is a 404. Changes go through portal.domain.template_store:
a change to anything but a draft is refused with 409, and a change that would make the template invalid saves
nothing and is answered 422 with the problem next to its input.

Builder actions answer an htmx request with the builder fragment (``_builder.html``, the same partial the page
includes) and a plain form post with 303 back to the page.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Response, flash, render_template, request
from flask_login import current_user
from flask_wtf import FlaskForm

from portal import policy
from portal.admin.forms import ConfirmForm
from portal.builder import bp
from portal.builder.forms import (
    FIELD_FORMS, FIELD_TYPE_NAMES, DefaultTemplateForm, ImportForm, NewSectionForm, NewTemplateForm, PublishForm, SectionForm,
    ShippedTemplateForm, TemplateTextForm, attach_problems, field_form,
)
from portal.domain import issued_files
from portal.domain import template_store as store
from portal.domain.template_format import (
    MAX_FILE_BYTES, TemplateFormatError, diff_definitions, dump_template_file, field_name, substitute_placeholders,
)
from portal.errors import error_response
from portal.extensions import db
from portal.models import TemplateVersion
from portal.pdf import PdfRenderError
from portal.web import is_htmx_fragment_request, render, see_other

MAX_SHOWN_PROBLEMS = 20  # of an imported file: the first ones tell what is wrong; the rest would bury them


@bp.errorhandler(store.TemplateStateError)
def _not_a_draft(error):
    """A change to a published or retired version (or a stale page): 409 with the reason, nothing saved."""
    db.session.rollback()
    return error_response(409, str(error))


@bp.errorhandler(store.NoSuchPart)
def _no_such_part(error):
    db.session.rollback()
    return error_response(404, str(error))


# --- loading ---------------------------------------------------------------------------------------------------

def _program(program_id: int):
    return policy.program_for_admin(current_user, program_id)


def _template(program_id: int, template_id: int):
    program = _program(program_id)
    return program, policy.template_for_admin(current_user, template_id, program.id)


def _version(program_id: int, version_id: int):
    program = _program(program_id)
    return program, policy.version_for_admin(current_user, version_id, program.id)


# --- the program's templates -----------------------------------------------------------------------------------

def _index(program, *, status=200, new_form=None, import_form=None, shipped_form=None, default_form=None):
    summaries = store.template_summaries(program)
    import_form = import_form or ImportForm(prefix="import")
    import_form.set_templates(summaries)
    if default_form is None:
        default_form = DefaultTemplateForm(prefix="default", data={"template": str(program.default_template_id or "")})
    default_form.set_templates(summaries)
    return render("builder/index.html", program=program, summaries=summaries, status=status,
                  default_form=default_form, default_version=store.default_version(program),
                  new_form=new_form or NewTemplateForm(prefix="new"), import_form=import_form,
                  shipped_form=shipped_form or ShippedTemplateForm(prefix="shipped"),
                  max_file_kib=MAX_FILE_BYTES // 1024)


@bp.route("/<int:program_id>/templates")
@policy.access(policy.SIGNED_IN)
def index(program_id: int):
    return _index(_program(program_id))


@bp.route("/<int:program_id>/templates", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def create_template(program_id: int):
    program = _program(program_id)
    form = NewTemplateForm(prefix="new")
    if form.validate_on_submit():
        try:
            version = store.create_blank_template(program, form.name.data, current_user)
        except store.DraftEditError as problems:
            unplaced = attach_problems(form, problems)  # the name's own problems go under it
            form.name.errors = list(form.name.errors) + unplaced
        else:
            db.session.commit()
            flash(f"Template '{version.template.name}' created as a draft. Add its sections and fields, "
                  "then publish it.", "success")
            return see_other("builder.version", program_id=program.id, version_id=version.id)
    db.session.rollback()
    return _index(program, status=422, new_form=form)


@bp.route("/<int:program_id>/templates/default", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def set_default_template(program_id: int):
    program = _program(program_id)
    form = DefaultTemplateForm(prefix="default")
    if form.validate_on_submit():
        chosen = (form.template.data or "").strip()
        try:
            # Only an explicit "none" clears the default; anything else must name a template.
            if chosen in ("", "none"):
                template_id = None
            elif chosen.isascii() and chosen.isdigit():
                template_id = int(chosen)
            else:
                raise store.DefaultTemplateError(store.NOT_A_DEFAULT_CHOICE)
            store.set_default_template(program, template_id, current_user)
        except store.DefaultTemplateError as error:
            form.template.errors = [str(error)]
        else:
            db.session.commit()
            default = store.default_version(program)
            flash(f"New pairs now start from '{default.template.name}' unless you choose another." if default else
                  "No default template: choose the template for each new pair.", "success")
            return see_other("builder.index", program_id=program.id)
    db.session.rollback()
    return _index(program, status=422, default_form=form)


@bp.route("/<int:program_id>/templates/import", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def import_template(program_id: int):
    program = _program(program_id)
    form = ImportForm(prefix="import")
    form.set_templates(store.template_summaries(program))
    if form.validate_on_submit():
        upload = form.file.data
        into = None
        if form.target.data != "new":
            into = policy.template_for_admin(current_user, int(form.target.data), program.id)
        if not upload or not getattr(upload, "filename", ""):
            form.file.errors = ["Choose the template file to import."]
        else:
            # Read one byte past the limit: enough to tell a file that is too large, never more.
            raw = upload.stream.read(MAX_FILE_BYTES + 1)
            try:
                version = store.import_template(program, raw, current_user, into=into)
            except TemplateFormatError as error:
                problems = error.problems
                if len(problems) > MAX_SHOWN_PROBLEMS:
                    problems = problems[:MAX_SHOWN_PROBLEMS] + [
                        f"... and {len(error.problems) - MAX_SHOWN_PROBLEMS} more problems."]
                form.file.errors = ["Nothing was imported: the file is not a valid template."] + problems
            except store.TemplateStateError as error:
                form.target.errors = [str(error)]
            else:
                db.session.commit()
                flash(f"Imported '{version.template.name}' as version {version.number} (a draft). Check it in "
                      "the builder, then publish it.", "success")
                return see_other("builder.version", program_id=program.id, version_id=version.id)
    db.session.rollback()
    return _index(program, status=422, import_form=form)


@bp.route("/<int:program_id>/templates/shipped", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def add_shipped_template(program_id: int):
    program = _program(program_id)
    form = ShippedTemplateForm(prefix="shipped")
    if form.validate_on_submit():
        version = store.add_shipped_template(program, form.shipped.data, current_user)
        db.session.commit()
        flash(f"'{version.template.name}' added as a draft (version 1). Check it in the builder (where the paper "
              "form names its own program it says {program_name}, which prints your program's name), then "
              "publish it: until then no pair starts from it.", "success")
        return see_other("builder.version", program_id=program.id, version_id=version.id)
    db.session.rollback()
    return _index(program, status=422, shipped_form=form)


# --- one template and its versions -----------------------------------------------------------------------------

@bp.route("/<int:program_id>/templates/<int:template_id>")
@policy.access(policy.SIGNED_IN)
def template_detail(program_id: int, template_id: int):
    program, template = _template(program_id, template_id)
    versions = store.versions_newest_first(template)
    in_use = next((v for v in versions if v.state == "published"), None)
    return render("builder/template.html", program=program, template=template, versions=versions, in_use=in_use,
                  draft=next((v for v in versions if v.state == "draft"), None),
                  agreement_counts=store.agreement_counts_by_version(template), confirm_form=ConfirmForm())


@bp.route("/<int:program_id>/templates/<int:template_id>/drafts", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def new_draft(program_id: int, template_id: int):
    program, template = _template(program_id, template_id)
    if ConfirmForm().validate_on_submit():
        newest = store.newest_version(template)
        if newest.state == "draft":  # e.g. a second click, or another admin was quicker: no dead end
            flash(f"This template already has a draft (version {newest.number}); here it is.", "info")
            return see_other("builder.version", program_id=program.id, version_id=newest.id)
        version = store.new_draft_version(template, current_user)
        db.session.commit()
        flash(f"Version {version.number} started as a draft, copied from version {newest.number}. Published "
              "versions stay as they are.", "success")
        return see_other("builder.version", program_id=program.id, version_id=version.id)
    return see_other("builder.template_detail", program_id=program.id, template_id=template.id)


@bp.route("/<int:program_id>/templates/<int:template_id>/diff")
@policy.access(policy.SIGNED_IN)
def diff(program_id: int, template_id: int):
    program, template = _template(program_id, template_id)
    versions = store.versions_newest_first(template)
    by_id = {str(v.id): v for v in versions}
    newer = by_id.get(request.args.get("to", ""), versions[0])
    older = by_id.get(request.args.get("from", ""))
    if older is None:
        older = next((v for v in versions if v.number < newer.number), newer)
    changes = diff_definitions(store.definition_of(older), store.definition_of(newer))
    return render("builder/diff.html", program=program, template=template, versions=versions, older=older,
                  newer=newer, changes=changes)


# --- one version: the builder (drafts) or the read-only view -----------------------------------------------------

@dataclass
class Editing:
    """Which editor is open in the builder: the template's texts, a section, a field, or a new field."""

    kind: str  # "text", "section", "field" or "new_field"
    key: str = ""  # the section's or field's key (for "new_field": the section it goes in)
    field_type: str = ""
    form: FlaskForm | None = None


def _editing_from_query(version: TemplateVersion) -> Editing | None:
    """The editor that a plain link (?edit=field:goal, ?add=goals&type=choice) asks to open."""
    if version.state != "draft":
        return None
    definition = store.definition_of(version)
    edit = request.args.get("edit", "")
    if edit == "text":
        return Editing("text", form=TemplateTextForm(prefix="template", data={
            "name": definition.name, "title": definition.title, "intro": definition.intro}))
    kind, _, key = edit.partition(":")
    if kind == "section" and definition.section(key):
        section = definition.section(key)
        return Editing("section", key, form=SectionForm(prefix="section", data={
            "title": section.title, "intro": section.intro}))
    if kind == "field" and definition.field(key):
        field = definition.field(key)
        return Editing("field", key, field.type,
                       form=field_form(field.type, key, data=FIELD_FORMS[field.type].data_of(field)))
    section_key, field_type = request.args.get("add", ""), request.args.get("type", "")
    if definition.section(section_key) and field_type in FIELD_FORMS:
        return Editing("new_field", section_key, field_type,
                       form=field_form(field_type, data=FIELD_FORMS[field_type].new_data()))
    return None


def _builder(program, version, *, editing: Editing | None = None, status: int = 200, notice: str | None = None,
             problems: list[str] | None = None, problems_place: str = "top", focus: str | None = None,
             new_section_form=None):
    """The version page, or only its builder fragment for an htmx request."""
    definition = store.definition_of(version)
    values = store.preview_values(program, definition)
    older = db.session.scalar(db.select(TemplateVersion).where(
        TemplateVersion.template_id == version.template_id, TemplateVersion.number < version.number)
        .order_by(TemplateVersion.number.desc()).limit(1))
    return render(
        "builder/version.html", "builder/_builder.html", status=status,
        program=program, template=version.template, version=version, definition=definition,
        editable=version.state == "draft", editing=editing, notice=notice, problems=problems or [],
        problems_place=problems_place, focus=focus, older=older,
        fill=lambda text: substitute_placeholders(text, values),
        new_section_form=new_section_form or NewSectionForm(prefix="new_section"),
        field_type_names=FIELD_TYPE_NAMES, field_name=field_name, confirm_form=ConfirmForm(),
        agreement_count=store.agreement_counts_by_version(version.template).get(version.id, 0))


def _changed(program, version, message: str, *, anchor: str | None = None, focus: str | None = None):
    """After a successful change: the fresh builder for htmx, Post/Redirect/Get otherwise."""
    db.session.commit()
    if is_htmx_fragment_request():
        return _builder(program, version, notice=message, focus=focus)
    flash(message, "success")
    return see_other("builder.version", program_id=program.id, version_id=version.id, _anchor=anchor)


def _refused(program, version, editing: Editing | None, problems: list[str], new_section_form=None):
    """After a refused change: nothing was saved; the builder again, with the problems in place (422)."""
    db.session.rollback()
    place = "editor" if editing else "new_section" if new_section_form else "top"
    return _builder(program, version, editing=editing, status=422, problems=problems, problems_place=place,
                    new_section_form=new_section_form)


@bp.route("/<int:program_id>/templates/versions/<int:version_id>")
@policy.access(policy.SIGNED_IN)
def version(program_id: int, version_id: int):
    program, version = _version(program_id, version_id)
    return _builder(program, version, editing=_editing_from_query(version))


def _publish_page(program, version, *, form: PublishForm | None = None, status: int = 200):
    """The checklist before publishing: what refuses it, what warns, and the confirmation."""
    return render("builder/publish.html", status=status, program=program, template=version.template,
                  version=version, checklist=store.publish_checklist(version), form=form or PublishForm())


@bp.route("/<int:program_id>/templates/versions/<int:version_id>/publish")
@policy.access(policy.SIGNED_IN)
def publish_check(program_id: int, version_id: int):
    program, version = _version(program_id, version_id)
    if version.state != "draft":
        flash(f"Version {version.number} is already {version.state}; only a draft can be published.", "info")
        return see_other("builder.template_detail", program_id=program.id, template_id=version.template_id)
    return _publish_page(program, version)


@bp.route("/<int:program_id>/templates/versions/<int:version_id>/publish", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def publish_version(program_id: int, version_id: int):
    program, version = _version(program_id, version_id)
    form = PublishForm()
    if not form.validate_on_submit():
        return _publish_page(program, version, form=form, status=422)
    try:
        store.publish_checked(version, current_user, warnings_accepted=bool(form.accept_warnings.data))
    except store.PublishRefused as refusal:
        db.session.rollback()
        if not refusal.checklist.problems:
            form.accept_warnings.errors = ["Read the warnings, then tick this box to publish anyway (or go back "
                                           "to the builder and fix them)."]
        return _publish_page(program, version, form=form, status=422)
    db.session.commit()
    flash(f"Version {version.number} is published. New pairs start from it; agreements made from earlier "
          "versions keep theirs.", "success")
    return see_other("builder.template_detail", program_id=program.id, template_id=version.template_id)


@bp.route("/<int:program_id>/templates/versions/<int:version_id>/retire", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def retire_version(program_id: int, version_id: int):
    program, version = _version(program_id, version_id)
    if ConfirmForm().validate_on_submit():
        store.retire(version, current_user)
        db.session.commit()
        flash(f"Version {version.number} is retired: no new pair starts from it. Agreements already made from "
              "it are not affected.", "success")
    return see_other("builder.template_detail", program_id=program.id, template_id=version.template_id)


@bp.route("/<int:program_id>/templates/versions/<int:version_id>/republish", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def republish_version(program_id: int, version_id: int):
    program, version = _version(program_id, version_id)
    if ConfirmForm().validate_on_submit():
        store.republish(version, current_user)
        db.session.commit()
        newest = store.latest_published(version.template)
        starts_here = ("New pairs start from it again." if newest.id == version.id else
                       f"New pairs still start from version {newest.number}, the newest published one.")
        flash(f"Version {version.number} is published again. {starts_here}", "success")
    return see_other("builder.template_detail", program_id=program.id, template_id=version.template_id)


@bp.route("/<int:program_id>/templates/versions/<int:version_id>/discard", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def discard_draft(program_id: int, version_id: int):
    program, version = _version(program_id, version_id)
    template_id, number = version.template_id, version.number
    if ConfirmForm().validate_on_submit():
        template_deleted = store.discard_draft(version, current_user)
        db.session.commit()
        if template_deleted:
            flash("The draft was discarded, and with it the template, which had never been published.", "success")
            return see_other("builder.index", program_id=program.id)
        flash(f"The draft (version {number}) was discarded. The published versions are unchanged.", "success")
    return see_other("builder.template_detail", program_id=program.id, template_id=template_id)


def _file_name(version: TemplateVersion, extension: str) -> str:
    base = store.derive_key(version.template.name, (), fallback="template").replace("_", "-")
    return f"{base}-v{version.number}.{extension}"


@bp.route("/<int:program_id>/templates/versions/<int:version_id>/export")
@policy.access(policy.SIGNED_IN)
def export_version(program_id: int, version_id: int):
    _, version = _version(program_id, version_id)
    body = dump_template_file(store.definition_of(version))
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{_file_name(version, "json")}"'})


def _preview_context(program, version):
    definition = store.definition_of(version)
    values = store.preview_values(program, definition)
    return {"program": program, "template": version.template, "version": version, "definition": definition,
            "values": values, "fill": lambda text: substitute_placeholders(text, values)}


@bp.route("/<int:program_id>/templates/versions/<int:version_id>/preview")
@policy.access(policy.SIGNED_IN)
def preview(program_id: int, version_id: int):
    program, version = _version(program_id, version_id)
    return render("builder/preview.html", **_preview_context(program, version))


@bp.route("/<int:program_id>/templates/versions/<int:version_id>/preview.pdf")
@policy.access(policy.SIGNED_IN)
def preview_pdf(program_id: int, version_id: int):
    program, version = _version(program_id, version_id)
    # A .html template: autoescaped, so template text reaches the PDF as text, never as markup.
    html = render_template("builder/pdf/preview.html", **_preview_context(program, version))
    try:
        pdf = issued_files.issue_pdf(html, "template_preview", program.id, template_version_id=version.id)
    except PdfRenderError as error:  # a clear page, not a server error: the template is beyond what a PDF takes
        return error_response(422, f"This template cannot be shown as a PDF. {error} You can still read its "
                                   "preview page.")
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{_file_name(version, "pdf")}"'})


# --- builder changes -------------------------------------------------------------------------------------------

@bp.route("/<int:program_id>/templates/versions/<int:version_id>/text", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def edit_text(program_id: int, version_id: int):
    program, version = _version(program_id, version_id)
    store.ensure_draft(version)
    form = TemplateTextForm(prefix="template")
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            store.update_template_text(version, current_user, name=form.name.data, title=form.title.data,
                                       intro=form.intro.data)
        except store.DraftEditError as error:
            problems = attach_problems(form, error)
        else:
            return _changed(program, version, "Name, title and introduction saved.", anchor="template-text",
                            focus="template-text-edit")
    return _refused(program, version, Editing("text", form=form), problems)


@bp.route("/<int:program_id>/templates/versions/<int:version_id>/sections", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def add_section(program_id: int, version_id: int):
    program, version = _version(program_id, version_id)
    store.ensure_draft(version)
    form = NewSectionForm(prefix="new_section")
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            key = store.add_section(version, current_user, title=form.title.data, intro=form.intro.data,
                                    key=form.key.data)
        except store.DraftEditError as error:
            problems = attach_problems(form, error)
        else:
            return _changed(program, version, f"Section '{form.title.data}' added at the end.",
                            anchor=f"section-{key}", focus=f"section-{key}-edit")
    return _refused(program, version, None, problems, new_section_form=form)


@bp.route("/<int:program_id>/templates/versions/<int:version_id>/sections/<section_key>", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def edit_section(program_id: int, version_id: int, section_key: str):
    program, version = _version(program_id, version_id)
    store.ensure_draft(version)
    form = SectionForm(prefix="section")
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            store.update_section(version, current_user, section_key, title=form.title.data, intro=form.intro.data)
        except store.DraftEditError as error:
            problems = attach_problems(form, error)
        else:
            return _changed(program, version, f"Section '{form.title.data}' saved.", anchor=f"section-{section_key}",
                            focus=f"section-{section_key}-edit")
    return _refused(program, version, Editing("section", section_key, form=form), problems)


def _direction() -> int | None:
    return {"up": -1, "down": 1}.get(request.form.get("direction", ""))


@bp.route("/<int:program_id>/templates/versions/<int:version_id>/sections/<section_key>/move", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def move_section(program_id: int, version_id: int, section_key: str):
    program, version = _version(program_id, version_id)
    store.ensure_draft(version)
    offset = _direction()
    if not ConfirmForm().validate_on_submit() or offset is None:
        return _refused(program, version, None, ["Choose to move the section up or down."])
    moved = store.move_section(version, current_user, section_key, offset)
    word = "up" if offset < 0 else "down"
    message = f"Section moved {word}." if moved else f"The section is already the {'first' if offset < 0 else 'last'}."
    return _changed(program, version, message, anchor=f"section-{section_key}", focus=f"section-{section_key}-{word}")


@bp.route("/<int:program_id>/templates/versions/<int:version_id>/sections/<section_key>/remove", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def remove_section(program_id: int, version_id: int, section_key: str):
    program, version = _version(program_id, version_id)
    store.ensure_draft(version)
    if not ConfirmForm().validate_on_submit():
        return _refused(program, version, None, ["The removal could not be confirmed; try again."])
    try:
        store.remove_section(version, current_user, section_key)
    except store.DraftEditError as error:
        return _refused(program, version, None, error.general)
    return _changed(program, version, "Section removed, with its fields.", anchor="builder")


@bp.route("/<int:program_id>/templates/versions/<int:version_id>/sections/<section_key>/fields", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def add_field(program_id: int, version_id: int, section_key: str):
    program, version = _version(program_id, version_id)
    store.ensure_draft(version)
    field_type = request.form.get("field_type", "")
    if field_type not in FIELD_FORMS:
        return _refused(program, version, None, ["Choose the type of the new field."])
    form = field_form(field_type)
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            key = store.add_field(version, current_user, section_key, field_type, form.attributes(),
                                  key=form.key.data)
        except store.DraftEditError as error:
            problems = attach_problems(form, error)
        else:
            return _changed(program, version, f"{FIELD_TYPE_NAMES[field_type]} field added.",
                            anchor=f"field-{key}", focus=f"field-{key}-edit")
    return _refused(program, version, Editing("new_field", section_key, field_type, form=form), problems)


@bp.route("/<int:program_id>/templates/versions/<int:version_id>/fields/<field_key>", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def edit_field(program_id: int, version_id: int, field_key: str):
    program, version = _version(program_id, version_id)
    store.ensure_draft(version)
    field_type = store.field_type_in_draft(version, field_key)
    form = field_form(field_type, field_key)
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            store.update_field(version, current_user, field_key, form.attributes())
        except store.DraftEditError as error:
            problems = attach_problems(form, error)
        else:
            return _changed(program, version, "Field saved.", anchor=f"field-{field_key}",
                            focus=f"field-{field_key}-edit")
    return _refused(program, version, Editing("field", field_key, field_type, form=form), problems)


@bp.route("/<int:program_id>/templates/versions/<int:version_id>/fields/<field_key>/move", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def move_field(program_id: int, version_id: int, field_key: str):
    program, version = _version(program_id, version_id)
    store.ensure_draft(version)
    offset = _direction()
    if not ConfirmForm().validate_on_submit() or offset is None:
        return _refused(program, version, None, ["Choose to move the field up or down."])
    moved = store.move_field(version, current_user, field_key, offset)
    word = "up" if offset < 0 else "down"
    message = f"Field moved {word}." if moved else f"The field is already the {'first' if offset < 0 else 'last'}."
    return _changed(program, version, message, anchor=f"field-{field_key}", focus=f"field-{field_key}-{word}")


@bp.route("/<int:program_id>/templates/versions/<int:version_id>/fields/<field_key>/remove", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def remove_field(program_id: int, version_id: int, field_key: str):
    program, version = _version(program_id, version_id)
    store.ensure_draft(version)
    if not ConfirmForm().validate_on_submit():
        return _refused(program, version, None, ["The removal could not be confirmed; try again."])
    section = store.definition_of(version).section_of(field_key)
    store.remove_field(version, current_user, field_key)
    return _changed(program, version, "Field removed.", anchor=f"section-{section.key}" if section else "builder")
