"""Chalice entry point: wiring only. The code lives in the controlplane package."""

from chalice.app import Chalice

from controlplane.entrypoints.api import api
from controlplane.entrypoints.events import events
from controlplane.entrypoints.steps import steps

app = Chalice(app_name="cart-controlplane")
app.register_blueprint(api)
app.register_blueprint(steps)
app.register_blueprint(events)
