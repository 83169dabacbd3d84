"""A brand manager's home: the licences of its brands that end soon and the licensees near their
yearly cap, instead of every batch in the system."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from traceapp import clock, db
from traceapp.console import queries
from traceapp.records.models import Organization


def brand_manager_home():
    session = db.session()
    organization = session.get(Organization, current_user.organization_id) if current_user.organization_id else None
    return render_template("console/home.html", organization=organization,
                           **queries.home_lists(session, current_user, clock.today()))
