#!/usr/bin/env python3
"""Sentry's own normalisations, for sentry-schedule-core's differential tests.

    reference.py slugs   reads JSON lines, one string each, and writes one JSON line per
                         input, in order: {"slugify": <django slugify>, "sentry": <slug Sentry
                         stores>}, after a header line {"django": "<version>"}.
    reference.py zones   writes {"tzdata": "<IANA version>", "zones": [...]}: the time zones
                         Sentry's monitor validator accepts.

The slug Sentry stores for a check-in's `monitor_slug`: Relay first cuts it to 50
characters (`trim_slug`, getsentry/relay relay-monitors/src/lib.rs), then Sentry's monitor
consumer takes `slugify(slug)[:DEFAULT_SLUG_MAX_LENGTH].strip("-")`
(`CheckinItem.valid_monitor_slug`, getsentry/sentry src/sentry/monitors/types.py, with
DEFAULT_SLUG_MAX_LENGTH = 50).

Time zones: `ConfigValidator.timezone` is a ChoiceField over AVAILABLE_TIMEZONES
(src/sentry/utils/dates.py): `zoneinfo.available_timezones()` minus "Factory". Only the
pinned `tzdata` package is used, never the system's zone files.
"""

import json
import sys
import zoneinfo
from importlib import metadata

try:
    import tzdata
    from django.utils.text import slugify
except ImportError as e:  # pragma: no cover
    print(f"missing Python package ({e}): pip install -r .ci/sentry/requirements.txt",
          file=sys.stderr)
    sys.exit(3)

# Use only the tzdata package, never /usr/share/zoneinfo.
zoneinfo.reset_tzpath(to=[])

SLUG_LENGTH = 50  # Relay's SLUG_LENGTH, Sentry's DEFAULT_SLUG_MAX_LENGTH


def sentry_slug(slug: str) -> str:
    return slugify(slug[:SLUG_LENGTH])[:SLUG_LENGTH].strip("-")


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "slugs":
        out = sys.stdout
        out.write(json.dumps({"django": metadata.version("Django")}) + "\n")
        for line in sys.stdin:
            value = json.loads(line)
            out.write(json.dumps({"slugify": slugify(value), "sentry": sentry_slug(value)}) + "\n")
    elif mode == "zones":
        zones = sorted(zoneinfo.available_timezones() - {"Factory"})
        print(json.dumps({"tzdata": tzdata.IANA_VERSION, "zones": zones}))
    else:
        print("usage: reference.py slugs|zones", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
