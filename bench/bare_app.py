"""The ceilings for bench/redirect.py: a redirect with no database.

Same route shape as Ambassador's tracked redirect (``/s/<code>``), a 302 with
a Location of comparable length (item URL plus our four UTM parameters) and
the same no-store header, but no lookup, no click recording, no extensions.
Served by gunicorn with the same settings as Ambassador, with
``--pythonpath bench``:

``bare_app:raw``  a plain WSGI callable, no framework at all: the real
                  ceiling of a Python redirect under this server.
``bare_app:app``  the same redirect as a Flask route (request and response
                  objects, routing): what a framework costs on top.
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


def raw(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if not path.startswith("/s/"):
        start_response("404 Not Found", [("Content-Length", "0")])
        return [b""]
    start_response("302 Found", [("Location", LOCATION.format(code=path[3:])),
                                 ("Cache-Control", "no-store"), ("Content-Length", "0")])
    return [b""]
