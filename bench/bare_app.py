"""The ceiling for bench/redirect.py: a bare Flask redirect, no database.

Same route shape as Ambassador's tracked redirect (``/s/<code>``), a 302 with
a Location of comparable length (item URL plus our four UTM parameters) and
the same no-store header, but no lookup, no click recording, no extensions.
Served by gunicorn with the same settings as Ambassador: ``bare_app:app``
with ``--pythonpath bench``.
"""

from flask import Flask, redirect

app = Flask(__name__)

LOCATION = ("https://www.example.com/news/bench-item-{code}?utm_source=linkedin"
            "&utm_medium=employee_advocacy&utm_campaign=bench-item-{code}&utm_content=AbCdEfGh")


@app.route("/s/<code>")
def follow(code):
    response = redirect(LOCATION.format(code=code), 302)
    response.headers["Cache-Control"] = "no-store"
    return response
