"""The reference ceiling: a bare Flask endpoint, served and measured exactly like the portal (same gunicorn
settings, same load generator, same in-process harness). A separate app, so that the product has no bench route.

    gunicorn bench.bare:app
"""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, bench!"
