from flask_login import current_user

from portal import policy
from portal.domain.home import WAITING, current_agreement, home_summary
from portal.domain.pair_life import member_prompts
from portal.main import bp
from portal.web import render


@bp.route("/")
@policy.access(policy.SIGNED_IN)
def home():
    summary = home_summary(current_user)
    return render("main/home.html", summary=summary, waiting=WAITING, current_agreement=current_agreement,
                  prompts=member_prompts(summary.member_pairs, current_user))
