"""One encrypted known value per data-key id: proves at start-up that a listed key is the key its id stood for."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.timeutil import utcnow


class DataKeyCheck(db.Model):
    __tablename__ = "data_key_check"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    check_ct: Mapped[bytes] = mapped_column(LargeBinary)  # CHECK_TEXT encrypted with that key
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
