"""Notebook views: parse, call portal.domain.notes, render. Every pair, note and share is loaded through a
portal.policy loader, so a foreign id answers 404.

htmx: actions on a note swap that note's <article> (`notes/_note.html`); without JavaScript the same forms
post normally and get a 303 to the note's page. Invalid input answers 422 with the errors next to the fields.
"""
from __future__ import annotations

from flask import abort, flash, request, url_for
from flask_login import current_user

from portal import policy
from portal.domain import notes
from portal.extensions import db
from portal.notes import bp
from portal.notes.forms import ApproveForm, DeleteForm, EditNoteForm, NoteForm, SearchForm, ShareForm
from portal.web import is_htmx_fragment_request, redirect_to, refuse, render

MAX_PAGE = 10_000


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _attach(form, problems: notes.FieldProblems) -> None:
    for name, message in problems.problems.items():
        getattr(form, name).errors = [*getattr(form, name).errors, message]


def _notebook_page(pair, listing, *, fragment="notes/_note_list.html", form=None, search_form=None,
                   status=200, notice=None):
    # formdata=None: during a POST, a form built without it would be filled from the request, and the
    # "new note" box would come back holding the note just saved.
    return render("notes/notebook.html", fragment, status=status, pair=pair,
                  partner=notes.other_member(pair, current_user), listing=listing,
                  form=form or NoteForm(formdata=None), search_form=search_form or SearchForm(formdata=None),
                  notice=notice, purged_at=notes.notebook_purged_at(pair))


def _note_page(note, mode="show", status=200, **context):
    """The note page, or for htmx the note's <article> alone, in one of its modes (show, edit, delete,
    share, approve)."""
    return render("notes/note.html", "notes/_note.html", status=status, view=notes.note_view(note, current_user),
                  pair=note.pair, partner=notes.other_member(note.pair, current_user), mode=mode, **context)


def _done(note, message: str):
    """After a change: htmx gets the updated note in place; a plain form gets Post/Redirect/Get."""
    if is_htmx_fragment_request():
        return _note_page(note, notice=message)
    flash(message, "success")
    return redirect_to(url_for("notes.note", pair_id=note.pair_id, note_id=note.id))


def _text_kept(pair, note_id: int, text: str):
    """The note was deleted (by the other member) while this person was editing it: keep what they typed
    and offer to save it as a new note rather than lose it. 422 so that htmx swaps it in."""
    form = NoteForm(formdata=None, text=text)
    return render("notes/note_gone.html", "notes/_note_gone.html", status=422, pair=pair, note_id=note_id,
                  form=form)


# --- the notebook -------------------------------------------------------------------------------------------

@bp.route("/pairs/<int:pair_id>/notes")
@policy.access(policy.SIGNED_IN)
def notebook(pair_id: int):
    pair = policy.pair_for_member(current_user, pair_id)
    page = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    return _notebook_page(pair, notes.notebook(pair, current_user, page))


@bp.route("/pairs/<int:pair_id>/notes/search", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def search_notes(pair_id: int):
    # A POST, not a GET with ?q=: search words come from confidential notes, and a query string would land in
    # web server access logs, Referer headers and browser history.
    pair = policy.pair_for_member(current_user, pair_id)
    form = SearchForm()
    if not form.validate():
        return _notebook_page(pair, notes.notebook(pair, current_user), search_form=form, status=422)
    return _notebook_page(pair, notes.search(pair, current_user, form.q.data), search_form=form)


@bp.route("/pairs/<int:pair_id>/notes", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def create_note(pair_id: int):
    pair = policy.pair_for_member(current_user, pair_id)
    form = NoteForm()
    if form.validate_on_submit():
        try:
            note = notes.create_note(current_user, pair, form.text.data)
        except notes.FieldProblems as problems:
            _attach(form, problems)
        else:
            db.session.commit()
            if is_htmx_fragment_request():
                return _notebook_page(pair, notes.notebook(pair, current_user), fragment="notes/_notebook.html",
                                      notice="Note saved.")
            flash("Note saved.", "success")
            return redirect_to(url_for("notes.notebook", pair_id=pair.id) + f"#note-{note.id}")
    db.session.rollback()
    return _notebook_page(pair, notes.notebook(pair, current_user), fragment="notes/_notebook.html", form=form,
                          status=422)


# --- one note -----------------------------------------------------------------------------------------------

@bp.route("/pairs/<int:pair_id>/notes/<int:note_id>")
@policy.access(policy.SIGNED_IN)
def note(pair_id: int, note_id: int):
    return _note_page(policy.note_for_member(current_user, pair_id, note_id))


@bp.route("/pairs/<int:pair_id>/notes/<int:note_id>/edit", methods=["GET", "POST"])
@policy.access(policy.SIGNED_IN)
def edit_note(pair_id: int, note_id: int):
    pair = policy.pair_for_member(current_user, pair_id)
    form = EditNoteForm(prefix=f"note-{note_id}")
    note = policy.find_note_for_member(current_user, pair.id, note_id)
    if note is None:
        if request.method == "POST" and (form.text.data or "").strip():
            return _text_kept(pair, note_id, form.text.data)
        abort(404)
    text = notes.decrypt_note(note)
    if text is None:
        refuse(409, "This note cannot be read, so it cannot be edited. You can still delete it.")
    if request.method == "GET":
        form.text.data, form.version.data = text, note.version
        return _note_page(note, "edit", form=form)
    conflict = False
    if form.validate_on_submit():
        version_before = note.version
        try:
            ended = notes.edit_note(current_user, note, form.text.data, _int(form.version.data))
        except notes.FieldProblems as problems:
            db.session.rollback()
            _attach(form, problems)
        except notes.StaleNote:
            db.session.rollback()
            note = policy.find_note_for_member(current_user, pair.id, note_id)
            if note is None:
                return _text_kept(pair, note_id, form.text.data)
            # Show their version and keep this person's text in the box; saving again replaces theirs.
            form.version.data = note.version
            conflict = True
        else:
            db.session.commit()
            if note.version == version_before:
                return _done(note, "Nothing changed.")
            message = "Note saved."
            if ended:
                names = [share.recipient_label for share in ended]
                listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
                message += (f" Because its text changed, sharing it with {listed} has ended: share it again if "
                            "you both agree to share the new text.")
            return _done(note, message)
    return _note_page(note, "edit", status=422, form=form, conflict=conflict)


@bp.route("/pairs/<int:pair_id>/notes/<int:note_id>/delete", methods=["GET", "POST"])
@policy.access(policy.SIGNED_IN)
def delete_note(pair_id: int, note_id: int):
    pair = policy.pair_for_member(current_user, pair_id)
    note = policy.find_note_for_member(current_user, pair.id, note_id)
    if note is None and request.method == "POST":
        return _deleted(pair, note_id, "This note had already been deleted.")
    if note is None:
        abort(404)
    form = DeleteForm(prefix=f"delete-{note.id}")
    error = None
    if request.method == "POST" and form.validate_on_submit():
        try:
            notes.delete_note(current_user, note, _int(form.version.data))
        except notes.StaleNote:
            db.session.rollback()
            note = policy.find_note_for_member(current_user, pair.id, note_id)
            if note is None:
                return _deleted(pair, note_id, "This note had already been deleted.")
            error = "This note changed after you opened it. Read it again before deleting it."
        else:
            db.session.commit()
            return _deleted(pair, note_id, "Note deleted.")
    form.version.data = note.version
    return _note_page(note, "delete", status=422 if request.method == "POST" else 200, delete_form=form,
                      error=error)


def _deleted(pair, note_id: int, message: str):
    if is_htmx_fragment_request():
        return render("notes/_note_deleted.html", "notes/_note_deleted.html", note_id=note_id, message=message)
    flash(message, "success")
    return redirect_to(url_for("notes.notebook", pair_id=pair.id))


# --- sharing ------------------------------------------------------------------------------------------------

@bp.route("/pairs/<int:pair_id>/notes/<int:note_id>/share", methods=["GET", "POST"])
@policy.access(policy.SIGNED_IN)
def propose_share(pair_id: int, note_id: int):
    note = policy.note_for_member(current_user, pair_id, note_id)
    if notes.decrypt_note(note) is None:
        refuse(409, "This note cannot be read, so it cannot be shared.")
    form = ShareForm(prefix=f"share-{note.id}")
    if request.method == "GET":
        return _note_page(note, "share", share_form=form)
    if form.validate_on_submit():
        try:
            share = notes.propose_share(current_user, note, form.email.data, form.name.data, form.expires_on.data)
        except notes.FieldProblems as problems:
            db.session.rollback()
            _attach(form, problems)
        except notes.NoteError as error:
            db.session.rollback()
            refuse(error.status, error.message)
        else:
            db.session.commit()
            other = notes.other_member(note.pair, current_user)
            return _done(note, f"Proposed. Nothing is shared with {share.recipient_label} until {other.name} "
                               f"approves; {other.name} has been told by e-mail.")
    if form.expires_on.errors and form.expires_on.raw_data and form.expires_on.data is None:
        form.expires_on.errors = ["Enter a date such as 2030-12-31, or leave it empty."]
    return _note_page(note, "share", status=422, share_form=form)


@bp.route("/pairs/<int:pair_id>/shares/<int:share_id>/approve", methods=["GET", "POST"])
@policy.access(policy.SIGNED_IN)
def approve_share(pair_id: int, share_id: int):
    share = policy.share_for_member(current_user, pair_id, share_id)
    problem = notes.approval_problem(current_user, share)
    if problem:
        refuse(problem.status, problem.message)
    form = ApproveForm(prefix=f"approve-{share.id}")
    status = 200
    if request.method == "POST" and form.validate_on_submit():
        try:
            notes.approve_share(current_user, share, form.password.data, request.remote_addr,
                                shown_recipient=form.recipient.data or "")
        except notes.PasswordRefused as refusal:
            db.session.commit()  # keep the failed attempt: it counts towards the sign-in throttle
            form.password.errors = [refusal.message]
        except notes.RecipientChanged as change:
            db.session.rollback()
            form.password.errors = [change.message]  # shown with the recipient as they are now
        except notes.NoteError as error:
            db.session.rollback()
            refuse(error.status, error.message)
        else:
            db.session.commit()
            return _done(share.note, f"Approved. {share.recipient_label} can now read this note and has been "
                                     "told by e-mail. Either of you can withdraw it at any time.")
    if request.method == "POST":
        status = 422  # also when throttled: htmx swaps 422 only, and the message says to wait
    recipient = notes.recipient_preview(share)
    form.recipient.data = recipient.key
    return _note_page(share.note, "approve", status=status, approving=share, approve_form=form,
                      recipient=recipient)


@bp.route("/pairs/<int:pair_id>/shares/<int:share_id>/decline", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def decline_share(pair_id: int, share_id: int):
    share = policy.share_for_member(current_user, pair_id, share_id)  # CSRF: checked for every POST
    try:
        notes.decline_share(current_user, share)
    except notes.NoteError as error:
        db.session.rollback()
        refuse(error.status, error.message)
    db.session.commit()
    return _done(share.note, f"Declined. Nothing was shared; {share.proposed_by.name} has been told.")


@bp.route("/pairs/<int:pair_id>/shares/<int:share_id>/withdraw", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def withdraw_share(pair_id: int, share_id: int):
    share = policy.share_for_member(current_user, pair_id, share_id)
    was_approved = share.state == "approved"
    if notes.withdraw_share(current_user, share):
        db.session.commit()
        message = (f"Withdrawn. {share.recipient_label} can no longer read this note." if was_approved
                   else "Proposal withdrawn. Nothing was shared.")
    else:
        message = "This share had already ended; nothing changed."
    return _done(share.note, message)


# --- the recipient ------------------------------------------------------------------------------------------

@bp.route("/shared/<int:share_id>")
@policy.access(policy.SIGNED_IN)
def shared_note(share_id: int):
    share = policy.share_for_recipient(current_user, share_id)
    return render("notes/shared.html", share=share, pair=share.note.pair, view=notes.recipient_view(share),
                  last_day=notes.last_readable_day(share))
