"""Agreement views: thin wrappers around portal.domain.agreements and agreement_view."""
from __future__ import annotations

from flask import abort, flash, make_response, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import selectinload

from portal import MAX_ID, policy
from portal.agreements import bp
from portal.domain import agreements as rules
from portal.domain import signing
from portal.domain.agreement_view import FieldState, agreement_page, placeholders_for
from portal.domain.pair_life import PairLife, pair_life
from portal.domain.template_format import substitute_placeholders
from portal.domain.template_store import definition_of
from portal.errors import sign_in_redirect
from portal.extensions import db
from portal.models import Agreement, PairSupervisor
from portal.sessions import automatic
from portal.web import is_htmx_fragment_request, redirect_to, render


def _page_for(agreement: Agreement):
    # Who else is on the page is not read here: the page asks for it itself (presence, every few seconds).
    relation = policy.pair_relation(current_user, agreement.pair)
    return agreement_page(agreement, current_user, relation == policy.MEMBER)


def render_pair_page(pair, relation: str, life: PairLife, fragment: str | None = None, status: int = 200,
                     **extra):
    """The pair page (or one of its parts, for htmx): also used by the lifecycle forms to show a refused
    form again in place."""
    supervisors = db.session.scalars(db.select(PairSupervisor).where(PairSupervisor.pair_id == pair.id)
                                     .options(selectinload(PairSupervisor.user))).all()
    chain = list(reversed(life.chain))
    return render("agreements/pair.html", fragment, pair=pair, relation=relation,
                  agreements=chain, supervisors=[link.user for link in supervisors],
                  is_member=relation == policy.MEMBER, life=life, status=status,
                  integrity_problems=signing.pair_integrity(chain), **extra)


@bp.route("/pairs/<int:pair_id>")
@policy.access(policy.SIGNED_IN)
def pair(pair_id: int):
    pair, relation = policy.pair_for_viewer(current_user, pair_id)
    return render_pair_page(pair, relation, pair_life(pair, current_user, relation))


@bp.route("/agreements/<int:agreement_id>")
@policy.access(policy.SIGNED_IN)
def show(agreement_id: int):
    agreement, _relation = policy.agreement_for_viewer(current_user, agreement_id)
    return render("agreements/page.html", page=_page_for(agreement))


@bp.route("/agreements/<int:agreement_id>", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def save_all(agreement_id: int):
    """The whole form at once (the page without JavaScript): each field is saved on its own."""
    agreement = policy.agreement_for_member(current_user, agreement_id)
    page = _page_for(agreement)
    try:
        outcomes = rules.save_submission(agreement, page.definition, request.form, current_user)
    except rules.AgreementStateError as error:
        flash(str(error), "error")
        return redirect_to(url_for("agreements.show", agreement_id=agreement.id))
    db.session.commit()
    saved = sum(1 for outcome in outcomes.values() if outcome.saved)
    troubled = {key: outcome for key, outcome in outcomes.items() if outcome.error or outcome.conflict}
    if not troubled:
        flash(f"Saved {saved} change{'' if saved == 1 else 's'}." if saved else "No changes to save.", "success")
        return redirect_to(url_for("agreements.show", agreement_id=agreement.id))
    page = _page_for(agreement)  # fresh versions after the saves
    for key, outcome in troubled.items():
        _apply_outcome(page.fields, key, outcome)
    conflicts = sum(1 for outcome in troubled.values() if outcome.conflict)
    return render("agreements/page.html", page=page, status=409 if conflicts else 422,
                  notice=_attention_notice(saved, len(troubled)))


def _attention_notice(saved: int, troubled: int) -> str:
    return ((f"Saved {saved} change{'' if saved == 1 else 's'}. " if saved else "Nothing was saved. ")
            + (f"{troubled} fields need" if troubled > 1 else "1 field needs")
            + " your attention below: nothing you typed was lost.")


def _apply_outcome(fields: dict[str, FieldState], key: str, outcome: rules.FieldOutcome) -> FieldState:
    state = fields[key]
    if outcome.error:
        # The refused answer replaces the stored one in the inputs, still based on what the person's page
        # showed: once corrected, it is saved only over that version, and a partner's newer answer shows as a
        # clash instead of being written over unseen.
        state.value, state.error = outcome.submitted, outcome.error
        state.version, state.base = outcome.base_version, outcome.base_digest or ""
    elif outcome.conflict:
        state.conflict = outcome.conflict
        state.value = outcome.submitted  # the person's own version stays in the inputs
        # Still based on what the person's page showed before: saving the whole form again keeps the clash
        # (and the partner's answer); only the explicit choice writes over the version it was shown.
        state.version, state.base = outcome.base_version, outcome.base_digest or ""
    return state


def _member_field(agreement_id: int, key: str):
    """The member's agreement, its template's definition and one of its value fields (404 otherwise). The page
    itself is built only by the answers that show it: an autosave answers with a status line."""
    agreement = policy.agreement_for_member(current_user, agreement_id)
    definition = definition_of(agreement.template_version)
    field = definition.field(key)
    if field is None or not field.stores_value:
        abort(404)
    return agreement, definition, field


@bp.route("/agreements/<int:agreement_id>/fields/<key>")
@policy.access(policy.SIGNED_IN)
def field_block(agreement_id: int, key: str):
    """One field as the page shows it (used to drop a conflict view and keep the partner's value)."""
    agreement, _definition, _field = _member_field(agreement_id, key)
    if not is_htmx_fragment_request():
        return redirect_to(url_for("agreements.show", agreement_id=agreement.id, _anchor=f"field-{key}"))
    page = _page_for(agreement)
    return render_template("agreements/_field.html", page=page, state=page.fields[key])


@bp.route("/agreements/<int:agreement_id>/fields/<key>", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def save_field(agreement_id: int, key: str):
    """Autosave of one field (htmx), or a conflict resolution posted as a plain form."""
    agreement, definition, field = _member_field(agreement_id, key)
    whole_page = not is_htmx_fragment_request()
    try:
        outcome = rules.save_submission(agreement, definition, request.form, current_user, only=key).get(key)
        # Without JavaScript the clash's buttons send the whole page: the other answers in it are saved as
        # "Save all changes" would save them, so that choosing a version never drops another edit.
        others = rules.save_submission(agreement, definition, request.form, current_user, skip=key) \
            if whole_page and outcome is not None else {}
    except rules.AgreementStateError as error:
        db.session.rollback()
        if is_htmx_fragment_request():
            response = make_response(render_template("agreements/_refresh_notice.html", message=str(error)), 409)
            response.headers["HX-Refresh"] = "true"
            return response
        flash(str(error), "error")
        return redirect_to(url_for("agreements.show", agreement_id=agreement.id))
    if outcome is None:
        abort(400)
    db.session.commit()
    if whole_page:
        saved_others = sum(1 for other in others.values() if other.saved)
        troubled = {name: other for name, other in {key: outcome, **others}.items() if other.error or other.conflict}
        if not troubled:
            label = substitute_placeholders(field.label, placeholders_for(agreement))
            also = f" and {saved_others} other change{'' if saved_others == 1 else 's'}" if saved_others else ""
            flash(f"Saved \u201c{label[:60]}\u201d{also}.", "success")
            return redirect_to(url_for("agreements.show", agreement_id=agreement.id, _anchor=f"field-{key}"))
        page = _page_for(agreement)
        for name, other in troubled.items():
            _apply_outcome(page.fields, name, other)
        saved = saved_others + (1 if outcome.saved else 0)
        return render("agreements/page.html", page=page,
                      status=409 if any(other.conflict for other in troubled.values()) else 422,
                      notice=_attention_notice(saved, len(troubled)))
    if outcome.conflict:
        page = _page_for(agreement)
        state = _apply_outcome(page.fields, key, outcome)
        response = make_response(render_template("agreements/_field.html", page=page, state=state), 409)
        response.headers["HX-Retarget"] = f"#field-{key}"
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    status = 422 if outcome.error else 200
    if request.form.get("resolve") and not outcome.error:
        # A resolved conflict: the whole field comes back, without the conflict view.
        page = _page_for(agreement)
        return render_template("agreements/_field.html", page=page, state=page.fields[key])
    return make_response(render_template("agreements/_field_status.html", field=field, outcome=outcome), status)


@bp.route("/agreements/<int:agreement_id>/changes")
@policy.access(policy.SESSION_IN_QUERY)
@automatic
def changes(agreement_id: int):
    """The editors' poll. Nothing changed: one indexed query and an empty 204. Otherwise the partner's
    changed fields as out-of-band swaps, and a refresh when the agreement's state moved on."""
    since = request.args.get("since", default=-1, type=int)
    if not 0 <= since <= MAX_ID:
        since = -1  # not a change number the portal gave out: send every change (a huge one would not fit)
    found = policy.member_change_seq(agreement_id)
    if found is None:
        if not current_user.is_authenticated:
            return sign_in_redirect()
        policy.deny()
    seq, user_id = found
    if seq == since:
        return "", 204
    agreement = policy.agreement_for_member(current_user, agreement_id)
    if request.args.get("state") != agreement.state:
        response = make_response("", 204)
        response.headers["HX-Refresh"] = "true"
        return response
    page = _page_for(agreement)
    keys = [key for key in rules.changed_since(agreement, since, exclude_user_id=user_id) if key in page.fields]
    return render_template("agreements/_changes.html", page=page, keys=keys)


@bp.route("/agreements/<int:agreement_id>/presence", methods=["POST"])
@policy.access(policy.SIGNED_IN)
@automatic
def presence(agreement_id: int):
    """Each open editor checks in every few seconds; the answer says who else is on the page."""
    agreement = policy.agreement_for_member(current_user, agreement_id)
    rules.touch_presence(agreement, current_user)
    db.session.commit()
    return render_template("agreements/_presence.html", present=rules.present_people(agreement),
                           agreement=agreement)


@bp.route("/agreements/<int:agreement_id>/presence/leave", methods=["POST"])
@policy.access(policy.SIGNED_IN)
@automatic
def leave_page(agreement_id: int):
    """The page's beacon as it closes, reloads or navigates away (app.js, on pagehide): a plain form with the
    page's CSRF token. The partner's next check-in no longer names the person."""
    agreement = policy.agreement_for_member(current_user, agreement_id)
    rules.leave(agreement, current_user)
    db.session.commit()
    return "", 204


@bp.route("/agreements/<int:agreement_id>/history")
@policy.access(policy.SIGNED_IN)
def history(agreement_id: int):
    """Every change (who, when, old and new value), for the whole agreement or one field (?field=key)."""
    agreement = policy.agreement_for_member(current_user, agreement_id)
    page = _page_for(agreement)
    key = request.args.get("field") or None
    if key is not None and page.definition.field(key) is None:
        abort(404)
    entries = rules.history(agreement, page.definition, field_key=key)
    return render("agreements/history.html", "agreements/_history.html", page=page, entries=entries,
                  field=page.definition.field(key) if key else None)

