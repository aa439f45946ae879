"""Running the ``ambassador`` command as its own process, against a test's
database and mail server, so that a test can kill it for real."""

import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AMBASSADOR = os.path.join(os.path.dirname(sys.executable), "ambassador")


def environment(app, **extra):
    """The AMBASSADOR_* variables that give a process ``app``'s settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AMBASSADOR_")}
    for name in ("DATABASE_URL", "SECRET_KEY", "PUBLIC_URL", "BASE_URL", "SMTP_URL", "MAIL_FROM",
                 "DIGEST_SCHEDULE", "TIMEZONE"):
        if app.config.get(name):
            env["AMBASSADOR_" + name] = str(app.config[name])
    env.update(AMBASSADOR_CLICK_JOURNAL_DIR="off", AMBASSADOR_MAIL_OUTBOX="off")
    env.update({"AMBASSADOR_" + key: str(value) for key, value in extra.items()})
    return env


def start(app, *args, python=None, **extra):
    """``ambassador ARGS`` (or ``python -c PYTHON ARGS``) in the background."""
    command = [sys.executable, "-c", python, *args] if python else [AMBASSADOR, *args]
    return subprocess.Popen(command, env=environment(app, **extra), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def run(app, *args, timeout=60, **extra):
    """``ambassador ARGS`` to its end: (exit status, output)."""
    done = subprocess.run([AMBASSADOR, *args], env=environment(app, **extra), cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)
    return done.returncode, done.stdout + done.stderr


def wait_for(condition, timeout=60, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False
