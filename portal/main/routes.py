from flask_login import current_user

from portal import policy
from portal.domain.home import WAITING, current_agreement, home_summary
from portal.main import bp
from portal.web import render


@bp.route("/")
@policy.access(policy.SIGNED_IN)
def home():
    return render("main/home.html", summary=home_summary(current_user), waiting=WAITING,
                  current_agreement=current_agreement)
