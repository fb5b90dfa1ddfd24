"""Signing views: sign, decline, reopen for amendment, signed versions and their PDFs, verification.
Thin: parse the request, call portal.domain.signing (or verification, agreement_pdf), render or redirect."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import abort, current_app, flash, make_response, request, url_for
from flask_login import current_user

from portal import audit, policy, ratelimit
from portal.agreements import bp
from portal.agreements.routes import _page_for
from portal.domain import agreement_pdf, signing, verification
from portal.domain import agreements as rules
from portal.domain.agreement_view import signed_version_page
from portal.extensions import db
from portal.pdf import PdfRenderError
from portal.web import redirect_to, refuse, render


@dataclass
class SignFormState:
    """What the signing or declining form shows again after a problem: what was typed (never the password),
    and a message next to each input."""
    printed_name: str | None = None
    accepted: frozenset[str] = frozenset()
    reason: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def _client() -> tuple[str | None, str | None]:
    return request.remote_addr, request.user_agent.string


def _agreement_page(agreement, status: int, **context):
    return render("agreements/page.html", page=_page_for(agreement), status=status, **context)


@bp.route("/agreements/<int:agreement_id>/sign", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def sign(agreement_id: int):
    agreement = policy.agreement_for_member(current_user, agreement_id)
    submission = signing.SignSubmission.from_form(request.form)
    try:
        outcome = signing.sign(agreement, current_user, submission, *_client())
    except signing.SigningFormError as error:
        db.session.commit()  # only a wrong password's count towards the throttle was written: keep it
        form = SignFormState(printed_name=submission.printed_name, accepted=submission.accepted,
                             errors=error.errors)
        return _agreement_page(agreement, 422, sign_form=form)
    except (signing.SigningRefused, rules.AgreementStateError) as error:
        db.session.rollback()
        return _agreement_page(agreement, 409, notice=str(error))
    db.session.commit()
    if outcome.activated:
        flash("You have both signed: the agreement is active. Download your copy below; you will each get an "
              "e-mail with a link to it, and the program gets its copy by e-mail.", "success")
    else:
        flash("You have signed. The agreement becomes active when your partner signs too.", "success")
    return redirect_to(url_for("agreements.show", agreement_id=agreement.id, _anchor="signing"))


@bp.route("/agreements/<int:agreement_id>/decline", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def decline(agreement_id: int):
    agreement = policy.agreement_for_member(current_user, agreement_id)
    reason = request.form.get("reason", "")
    try:
        signing.decline(agreement, current_user, (request.form.get("role") or "").strip(), reason, *_client())
    except signing.SigningFormError as error:
        db.session.rollback()
        return _agreement_page(agreement, 422, decline_form=SignFormState(reason=reason, errors=error.errors))
    except (signing.SigningRefused, rules.AgreementStateError) as error:
        db.session.rollback()
        return _agreement_page(agreement, 409, notice=str(error))
    db.session.commit()
    flash("You declined to sign. Your partner sees your reason on this page.", "success")
    return redirect_to(url_for("agreements.show", agreement_id=agreement.id, _anchor="signing"))


@bp.route("/agreements/<int:agreement_id>/reopen", methods=["POST"])
@policy.access(policy.SIGNED_IN)
def reopen(agreement_id: int):
    agreement = policy.agreement_for_member(current_user, agreement_id)
    try:
        signing.reopen(agreement, current_user)
    except signing.SigningRefused as error:
        db.session.rollback()
        return _agreement_page(agreement, 409, notice=str(error))
    db.session.commit()
    flash(f"Amendment started: revision {agreement.revision} is a draft you edit together and both sign again. "
          f"Revision {agreement.revision - 1} stays signed until then.", "success")
    return redirect_to(url_for("agreements.show", agreement_id=agreement.id))


def _signed_version_or_404(agreement, revision: int):
    version = signing.signed_version(agreement, revision)
    if version is None:
        abort(404)
    return version


@bp.route("/agreements/<int:agreement_id>/versions/<int:revision>")
@policy.access(policy.SIGNED_IN)
def signed_version(agreement_id: int, revision: int):
    """A signed version as it was signed, with its hash, signatures, history and PDF links."""
    agreement, relation = policy.agreement_for_viewer(current_user, agreement_id)
    version = _signed_version_or_404(agreement, revision)
    page = signed_version_page(agreement, version, current_user, relation == policy.MEMBER)
    return render("agreements/signed_version.html", page=page, version=version,
                  events=signing.version_events(version))


def _pdf_response(agreement_id: int, revision: int, copy: str):
    agreement = policy.agreement_copy_for(current_user, agreement_id, copy)
    version = _signed_version_or_404(agreement, revision)
    try:
        pdf = agreement_pdf.render_copy(version, copy)
    except agreement_pdf.CopyPurged as purged:
        refuse(410, f"The pair-only part of this signed version was deleted on {purged.purged_at:%d %B %Y} under "
                    f"{agreement.pair.program.name}'s retention setting, so the pair's copy can no longer be made. "
                    "The program's copy, the hash and the signatures are kept.")
    except agreement_pdf.CopyUndecryptable:
        refuse(409, "The confidential part of this signed version cannot be decrypted with the portal's keys, so "
                    "the pair's copy cannot be made until its key is configured again. The program's copy can.")
    except agreement_pdf.CopyUnavailable:
        refuse(409, "The confidential part of this signed version cannot be read (it was altered, or its key "
                    "is no longer configured), so the pair's copy cannot be made. The program's copy can.")
    except PdfRenderError:
        refuse(422, "This signed version is too large to be made into a PDF. It stays signed, and you can read "
                    "it on its page.")
    response = make_response(pdf)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{agreement_pdf.filename(version, copy)}"'
    return response


@bp.route("/agreements/<int:agreement_id>/versions/<int:revision>/pair-copy.pdf")
@policy.access(policy.SIGNED_IN)
def pair_copy_pdf(agreement_id: int, revision: int):
    """The pair's copy: every field. Members only."""
    return _pdf_response(agreement_id, revision, policy.PAIR_COPY)


@bp.route("/agreements/<int:agreement_id>/versions/<int:revision>/program-copy.pdf")
@policy.access(policy.SIGNED_IN)
def program_copy_pdf(agreement_id: int, revision: int):
    """The program's copy: pair-only fields left out. Members, their supervisors and program admins."""
    return _pdf_response(agreement_id, revision, policy.PROGRAM_COPY)


@bp.route("/verify", methods=["GET", "POST"])
@policy.access(policy.SIGNED_IN)
def verify():
    """Is this PDF one the portal issued (or this hash one of a signed version)? Yes/no, program and date only."""
    if request.method == "GET":
        return render("agreements/verify.html", result=None, error=None, pasted="",
                      max_upload=verification.MAX_UPLOAD_TEXT)
    pasted = (request.form.get("hash") or "").strip()[:200]
    upload = request.files.get("pdf")
    try:
        if upload is not None and upload.filename:
            result = verification.verify_pdf(upload.stream.read(verification.MAX_UPLOAD_BYTES + 1))
        elif pasted:
            result = verification.verify_hash(pasted)
        else:
            raise verification.VerificationInputError("Choose a PDF file to upload, or paste a hash.")
    except verification.VerificationInputError as error:
        return render("agreements/verify.html", result=None, error=str(error), pasted=pasted, status=422,
                      max_upload=verification.MAX_UPLOAD_TEXT)
    may_open = bool(result.agreement_id) and result.matched and policy.may_view_agreement(current_user,
                                                                                         result.agreement_id)
    return render("agreements/verify.html", result=result, error=None, pasted="", may_open=may_open,
                  max_upload=verification.MAX_UPLOAD_TEXT)


@bp.route("/check-a-pdf", methods=["GET", "POST"])
@policy.access(policy.PUBLIC)
def check_public():
    """The check for people without an account (a certification body): upload a PDF, learn match or no match,
    the program and the date, nothing more. Limited per client address."""
    limit = current_app.config["PUBLIC_CHECKS_PER_HOUR"]
    if request.method == "GET":
        return render("agreements/check_public.html", result=None, error=None, limit=limit,
                      max_upload=verification.MAX_UPLOAD_TEXT)
    if not ratelimit.take("verify:public", audit.client_address() or "unknown", limit, 60):
        db.session.commit()
        refuse(429, f"This address has checked {limit} files in the last hour, as many as the public check "
                    "allows. Try again in an hour.")
    db.session.commit()  # the check is counted whatever it finds
    upload = request.files.get("pdf")
    try:
        if upload is None or not upload.filename:
            raise verification.VerificationInputError("Choose a PDF file to upload.")
        result = verification.verify_pdf(upload.stream.read(verification.MAX_UPLOAD_BYTES + 1))
    except verification.VerificationInputError as error:
        return render("agreements/check_public.html", result=None, error=str(error), limit=limit, status=422,
                      max_upload=verification.MAX_UPLOAD_TEXT)
    return render("agreements/check_public.html", result=result, error=None, limit=limit,
                  max_upload=verification.MAX_UPLOAD_TEXT)
