#!/usr/bin/env python3
"""Reference fire times from cronsim, the library Sentry's server uses for Crons.

Reads JSON lines on stdin, one case each:
    {"expr": "0 2 * * *", "zone": "Europe/London", "start": 1711846800, "n": 8}
and writes one JSON line per case on stdout, in order:
    {"ok": [<unix seconds>, ...]}      the next n fire instants (fewer if cronsim stopped)
    {"rejected": "<reason>"}           Sentry would refuse the expression
    {"ok": [...], "hang": true}         cronsim did not answer within a second after
                                        the instants listed (it can loop forever in
                                        some DST cases)

The first output line is a header: {"cronsim": "<version>", "tzdata": "<IANA version>"}.

Like Sentry's monitor validator, nicknames are translated first, more than 5 fields
are refused, and an expression with no next fire time (cronsim gives up after 50
years) is refused. Time zones come from the `tzdata` package (the system zone files are
ignored) so results do not depend on the machine.
"""

import json
import re
import signal
import sys
import zoneinfo
from datetime import datetime, timezone
from importlib import metadata

try:
    from cronsim import CronSim, CronSimError
    import tzdata
except ImportError as e:  # pragma: no cover
    print(f"missing Python package ({e}): pip install -r .ci/cronsim/requirements.txt",
          file=sys.stderr)
    sys.exit(3)

# Use only the tzdata package, never /usr/share/zoneinfo.
zoneinfo.reset_tzpath(to=[])

# Sentry's server: src/sentry/monitors/validators.py
NONSTANDARD_CRONTAB_SCHEDULES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@hourly": "0 * * * *",
}
CRONTAB_WHITESPACE = re.compile(r"\s+")


def sentry_normalize(expr):
    schedule = re.sub(CRONTAB_WHITESPACE, " ", expr).strip()
    if schedule.startswith("@"):
        if schedule not in NONSTANDARD_CRONTAB_SCHEDULES:
            raise CronSimError("Schedule was not parseable")
        schedule = NONSTANDARD_CRONTAB_SCHEDULES[schedule]
    if len(schedule.split()) > 5:
        raise CronSimError("Only 5 field crontab syntax is supported")
    return schedule


class Hang(Exception):
    pass


def on_alarm(signum, frame):
    raise Hang()


def run_with_timeout(case, seconds=1.0):
    out = []
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return run(case, out)
    except Hang:
        return {"ok": out, "hang": True}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def run(case, out):
    try:
        expr = sentry_normalize(case["expr"])
        zone = zoneinfo.ZoneInfo(case["zone"])
        start = datetime.fromtimestamp(case["start"], tz=timezone.utc).astimezone(zone)
        it = CronSim(expr, start)
    except CronSimError as e:
        return {"rejected": str(e) or "CronSimError"}
    for _ in range(case.get("n", 8)):
        try:
            out.append(int(next(it).timestamp()))
        except StopIteration:
            break
    if not out:
        return {"rejected": "no fire time within 50 years"}
    return {"ok": out}


def main():
    header = {"cronsim": metadata.version("cronsim"), "tzdata": tzdata.IANA_VERSION}
    sys.stdout.write(json.dumps(header) + "\n")
    for line in sys.stdin:
        line = line.strip()
        if line:
            sys.stdout.write(json.dumps(run_with_timeout(json.loads(line))) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
