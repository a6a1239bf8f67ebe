#!/usr/bin/env python3
"""Peer bench: vigil against DuckDB and plain Python on the same files (issue 26).

What it measures: events judged per CPU-second (user + system time of the process,
all threads, file reading and JSON parsing included) of three engines that read the
same native JSON-lines file and find the same four detections, with the ratio of
vigil's figure to each peer's. Run it from a release build:

    cargo build --release && python3 benches/peers.py

Options: ``--runs N`` (default 3; the engines alternate run by run, vigil, DuckDB,
Python, vigil, ..., and the median of each engine's events per CPU-second is
reported), ``--only realistic|storm``, ``--events N`` (size of the realistic file,
default 1,000,000), ``--vigil PATH`` (default ``target/release/vigil``) and ``--dir``
(where the files go, default ``target/peers``).

The two files (written once, then reused while their parameters, which are part of
their names, do not change):

- *realistic*: native sign-ins of 20,000 identities (one per 50 events) over 30 days,
  about 600 bytes an event (event id, app, MFA factor, user agent, device, session,
  address, network, place with its accuracy): people sign in from their home city on
  their one to three devices, each sign-in a session of its own with token refreshes
  and a logout, mistype a password now and then, buy a new device, fly abroad. Planted
  after each identity's learning period: impossible-travel jumps, sign-ins from a local
  proxy with a stolen password, brute-force bursts (some ending in the attacker's
  success) and bursts of failures below the threshold. Deterministic (seeded).
- *storm*: ``benches/storm.py 2000 15`` (300,000 events), the file the README's policy
  figures are quoted for. None of the four detections occur in it; the other
  detectors and the policy are busy (session hijack on every identity).

The engines:

- vigil: ``vigil replay --input FILE --output OUT``. It runs all thirteen detectors,
  session risk and the default policy, and writes decisions: it does more work than the
  peers, which find four detections only. Its counts are the ``signals`` section of
  the summary it prints.
- DuckDB (pinned, installed with pip into a venv, ``target/bench-venv`` or
  ``$VIGIL_BENCH_VENV``, created on first use; ``SET threads = 1``): ``read_ndjson``
  with the columns the detectors need, then the four detectors as SQL window
  functions.
- Python: the standard library's ``json`` and one pass over the file, with dicts of
  per-identity state.

The four detectors, with vigil's default configuration (``rules/src/detectors/``):

- ``impossible_travel``: a successful auth event or an access event with coordinates
  is compared with the identity's latest earlier located event that was not itself
  flagged; it fires when the two addresses differ, the distance less both accuracy
  radii (50 km when not given) is at least 300 km and the speed over it is above
  900 km/h. Python keeps vigil's history of places (runs of events from one address,
  a second address at the same place joining the run, flagged places skipped, four
  kept); SQL compares with the previous located event, or with the one before it when
  the previous one was flagged (``LAG`` three deep).
- ``new_device`` / ``new_country``: a successful sign-in (``login`` or ``mfa``) from a
  device id / a country no earlier successful sign-in of the identity had, once the
  identity is out of its learning period (it is learning until it has 10 successful
  logins or 14 days have passed since its first successful sign-in).
- ``brute_force``: a failed or denied ``login`` makes a burst when the identity's
  failed logins in the 10 minutes up to it, since its last successful login, number
  at least 10; one signal per burst (none within 10 minutes of the last); and a
  successful login after 10 or more such failures signals too.

Where the peers cannot follow vigil exactly (the realistic file is built so that it
never matters, and the bench fails if the counts differ):

- vigil does not learn a sign-in judged high risk, nor one whose session another
  detector charged (an unusual hour, a burst before it), and it stops comparing with
  the place of an event another detector made high risk; the peers would need session
  risk and the other nine detectors for that, and learn every successful sign-in. In
  the realistic file every sign-in vigil does not learn is a one-off (an attacker's
  device, country or proxy, never seen again), and the benign first uses (a new
  laptop, a country on a trip) come before the identity's 20th sign-in, the least
  ``unusual_hour`` needs, so learning or not changes no later count. On other data
  (``vigil simulate``'s) the peers' counts differ from vigil's.
- SQL skips one flagged place, not a run of them; the file plants at most one jump
  per identity, a single event from an address used once.
- SQL's burst allows one signal while failures stay above the threshold; vigil signals
  again after 10 minutes. Planted bursts last less than 8 minutes.
- Not followed, and never reached by the files: forgetting after 90 days, at most 16
  devices or countries an identity, the user agent standing in for a missing device
  id, private addresses and configured corporate and VPN ranges (exempt from the
  location checks), ties in event time within one identity; SQL also needs events in
  time order with times written as ``2026-03-02T08:00:00Z``.

One full run (both files, three runs of each engine) takes about two minutes on two
cores, plus under a minute to write the realistic file the first time (587 MB; the
storm file is 107 MB).
"""

import argparse
import bisect
import calendar
import collections
import json
import math
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from duckdb_venv import VenvError, venv_python

REPO_ROOT = Path(__file__).resolve().parent.parent
DETECTORS = ("impossible_travel", "new_country", "new_device", "brute_force")
ENGINES = ("vigil", "duckdb", "python")

# vigil's defaults for the four detectors (rules/src/detectors/*.rs, rules/src/profile.rs).
DAY_S = 86_400
EARTH_RADIUS_KM = 6371.0088
MAX_SPEED_KMH = 900.0
MIN_DISTANCE_KM = 300.0
DEFAULT_ACCURACY_KM = 50.0
TRAVEL_HISTORY = 4
LEARNING_PERIOD_S = 14 * DAY_S
LEARNING_LOGINS = 10
UNUSUAL_HOUR_SIGN_INS = 20
BURST_FAILURES = 10
BURST_WINDOW_S = 600
MAX_REMEMBERED_FAILURES = 256
PRUNE_AFTER_S = 4 * BURST_WINDOW_S

# The storm file, as benches/storm.py writes it (README, Performance).
STORM_ARGS = (2000, 15)

# The realistic file: its shape. Changing the generator changes REALISTIC_VERSION, so a
# file written by an older one is not reused.
REALISTIC_VERSION = 3
REALISTIC_DAYS = 30
EVENTS_PER_IDENTITY = 50
REALISTIC_SEED = 26


def log(msg):
    print(f"peers: {msg}", file=sys.stderr, flush=True)


def die(msg):
    print(f"peers: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(2)


# --------------------------------------------------------------------------------------
# The realistic file
# --------------------------------------------------------------------------------------

# Country: UTC offset in March, home ISP (ASN, first octets), mobile carrier (ASN, first
# octets), hosting (ASN) for attackers placed there.
COUNTRIES = {
    "DE": (1, (3320, (79, 84, 87, 91, 93)), (3209, (88, 94)), 24940),
    "GB": (0, (2856, (81, 86, 109)), (12576, (31, 92)), 20860),
    "FR": (1, (3215, (80, 90)), (51207, (37, 46)), 16276),
    "NL": (1, (1136, (77, 83)), (33915, (62, 89)), 60781),
    "ES": (1, (3352, (79, 83)), (12479, (95, 176)), 12430),
    "IT": (1, (3269, (79, 87)), (30722, (5, 151)), 31034),
    "PL": (1, (5617, (83, 89)), (12912, (46, 188)), 57367),
    "SE": (1, (3301, (78, 90)), (1257, (2, 155)), 8473),
    "US": (-6, (7922, (24, 73, 98)), (21928, (166, 174)), 14618),
    "CA": (-5, (812, (99, 142)), (577, (70, 184)), 16509),
    "BR": (-3, (28573, (177, 179)), (26599, (187, 191)), 61317),
    "IN": (5, (24560, (49, 122)), (55836, (106, 157)), 133296),
    "JP": (9, (2516, (106, 126)), (2527, (49, 180)), 2914),
    "SG": (8, (9506, (116, 118)), (4773, (111, 115)), 16509),
    "AU": (11, (1221, (101, 120)), (7545, (110, 124)), 16509),
    "ZA": (2, (3741, (41, 105)), (36994, (102, 197)), 37153),
    "NG": (1, (29465, (102, 105)), (37148, (197, 41)), 37148),
    "RU": (3, (12389, (5, 95)), (8359, (31, 176)), 9123),
    "CN": (8, (4134, (58, 114)), (9808, (111, 117)), 45102),
    "ID": (7, (7713, (36, 114)), (23693, (110, 182)), 55685),
    "VN": (7, (45899, (14, 113)), (7552, (27, 116)), 45899),
    "RO": (2, (8708, (79, 86)), (12302, (5, 37)), 9009),
    "VE": (-4, (8048, (186, 190)), (27889, (150, 201)), 8048),
    "PE": (-5, (6147, (179, 181)), (12252, (132, 190)), 6147),
    "PH": (8, (9299, (112, 122)), (132199, (49, 180)), 9299),
    "TR": (3, (9121, (78, 85)), (16135, (31, 176)), 9121),
    "UA": (2, (15895, (46, 91)), (21497, (37, 176)), 15895),
}

# Where people live: city, country, latitude, longitude, weight. UTC offsets of the US
# and Canada are per city.
HOME_CITIES = [
    ("Berlin", "DE", 52.520, 13.405, 6), ("Munich", "DE", 48.137, 11.575, 4),
    ("Hamburg", "DE", 53.551, 9.993, 3), ("Frankfurt am Main", "DE", 50.110, 8.682, 3),
    ("London", "GB", 51.507, -0.128, 7), ("Manchester", "GB", 53.481, -2.242, 2),
    ("Paris", "FR", 48.857, 2.352, 5), ("Lyon", "FR", 45.764, 4.836, 2),
    ("Amsterdam", "NL", 52.370, 4.895, 3), ("Madrid", "ES", 40.417, -3.704, 3),
    ("Barcelona", "ES", 41.385, 2.173, 2), ("Milan", "IT", 45.464, 9.190, 2),
    ("Rome", "IT", 41.903, 12.496, 2), ("Warsaw", "PL", 52.230, 21.012, 2),
    ("Stockholm", "SE", 59.329, 18.069, 2), ("New York", "US", 40.713, -74.006, 7),
    ("Chicago", "US", 41.878, -87.630, 4), ("San Francisco", "US", 37.775, -122.419, 5),
    ("Austin", "US", 30.267, -97.743, 3), ("Seattle", "US", 47.606, -122.332, 3),
    ("Toronto", "CA", 43.653, -79.383, 3), ("Sao Paulo", "BR", -23.551, -46.633, 3),
    ("Bengaluru", "IN", 12.972, 77.595, 5), ("Mumbai", "IN", 19.076, 72.878, 2),
    ("Tokyo", "JP", 35.676, 139.650, 3), ("Singapore", "SG", 1.352, 103.820, 2),
    ("Sydney", "AU", -33.869, 151.209, 2), ("Johannesburg", "ZA", -26.204, 28.047, 1),
]
CITY_UTC_OFFSET = {"New York": -5, "Chicago": -6, "San Francisco": -8, "Austin": -6,
                   "Seattle": -8, "Toronto": -5}

# Where attackers sign in from (a VPS or a proxy there).
ATTACKER_CITIES = [
    ("Lagos", "NG", 6.524, 3.379), ("Moscow", "RU", 55.756, 37.617),
    ("Beijing", "CN", 39.904, 116.407), ("Jakarta", "ID", -6.208, 106.846),
    ("Hanoi", "VN", 21.028, 105.834), ("Bucharest", "RO", 44.427, 26.103),
    ("Caracas", "VE", 10.480, -66.904), ("Lima", "PE", -12.046, -77.043),
    ("Manila", "PH", 14.599, 120.984), ("Istanbul", "TR", 41.008, 28.978),
    ("Kyiv", "UA", 50.450, 30.523), ("Sao Paulo", "BR", -23.551, -46.633),
    ("Singapore", "SG", 1.352, 103.820), ("Ashburn", "US", 39.044, -77.487),
]

FIRST_NAMES = ("anna", "ben", "carla", "david", "elena", "farid", "greta", "hiro", "ines",
               "jonas", "kavya", "liam", "maria", "noah", "olga", "pedro", "quinn", "rosa",
               "sven", "tara", "umar", "vera", "wei", "ximena", "yusuf", "zoe")
LAST_NAMES = ("schmidt", "smith", "martin", "garcia", "rossi", "kowalski", "andersson",
              "johnson", "tremblay", "silva", "sharma", "tanaka", "tan", "nguyen", "jones",
              "muller", "dubois", "lopez", "bianchi", "nowak", "berg", "brown", "wilson",
              "costa", "patel", "sato", "lim", "taylor", "fischer", "moreau")
APPS = ("office365", "okta-dashboard", "salesforce", "github", "slack", "workday", "jira",
        "aws-console", "zoom", "confluence")
FACTORS = ("push", "push", "push", "totp", "totp", "webauthn", "sms")
LAPTOP_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
)
PHONE_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.6778.104 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.6778.104 Mobile Safari/537.36",
)
TABLET_AGENTS = (
    "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1",
)
ATTACKER_AGENTS = ("python-requests/2.32.3", "curl/8.5.0",
                   "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
                   "like Gecko) Chrome/120.0.0.0 Safari/537.36")

# First octets never used: private, shared, loopback, link-local, documentation, multicast.
RESERVED_FIRST_OCTETS = {0, 10, 100, 127, 169, 172, 192, 198, 203}

# Planted per identity (at most one each, after its learning period), as shares of the
# identities: the attacker far away minutes after the user (impossible travel, new
# country, new device); a stolen password used from a proxy in the user's city (new
# device); the user's new device; a trip abroad (new country); a brute-force burst, a
# third of them ending in the attacker's success; a burst of failures below the
# threshold (5 to 7, and at most 2 typos in any other session) before the user gets in.
ANOMALIES = (("jump", 0.015), ("stolen", 0.010), ("new_device", 0.015), ("trip", 0.020),
             ("burst", 0.015), ("slow_failures", 0.010))

START = calendar.timegm((2026, 3, 2, 0, 0, 0))  # a Monday


def haversine_km(lat1, lon1, lat2, lon2):
    lat1, lon1, lat2, lon2 = map(math.radians, (lat1, lon1, lat2, lon2))
    half_dlat = math.sin((lat2 - lat1) / 2.0)
    half_dlon = math.sin((lon2 - lon1) / 2.0)
    chord = half_dlat * half_dlat + math.cos(lat1) * math.cos(lat2) * half_dlon * half_dlon
    return 2.0 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(chord)))


class Net:
    """One source address: its network and the place it geolocates to."""

    __slots__ = ("ip", "asn", "geo")

    def __init__(self, ip, asn, city, country, lat, lon, accuracy_km):
        self.ip = ip
        self.asn = asn
        self.geo = {"lat": lat, "lon": lon, "country": country, "city": city,
                    "accuracy_km": accuracy_km}


class Addresses:
    """Unique public IPv4 addresses from given first octets."""

    def __init__(self, rng):
        self.rng = rng
        self.used = set()

    def take(self, first_octets):
        rng = self.rng
        while True:
            first = rng.choice(first_octets)
            if first in RESERVED_FIRST_OCTETS:
                first = 45
            ip = f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            if ip not in self.used:
                self.used.add(ip)
                return ip


def hexid(rng, digits):
    return f"{rng.getrandbits(4 * digits):0{digits}x}"


class Identity:
    """One person: home, devices, and the events planned for them."""

    def __init__(self, index, rng, addresses):
        city, country, lat, lon, _ = rng.choices(HOME_CITIES, weights=[c[4] for c in HOME_CITIES])[0]
        self.index = index
        self.name = (f"{rng.choice(FIRST_NAMES)}.{rng.choice(LAST_NAMES)}.{index:05}"
                     f"@corp.example-enterprise.com")
        self.city, self.country, self.lat, self.lon = city, country, lat, lon
        offset, isp, carrier, _ = COUNTRIES[country]
        self.utc_offset = CITY_UTC_OFFSET.get(city, offset)
        self.home = Net(addresses.take(isp[1]), isp[0], city, country, lat, lon,
                        rng.choice((10, 20, 20, 25)))
        self.carrier = carrier
        self.devices = [("laptop", f"dev-{hexid(rng, 20)}", rng.choice(LAPTOP_AGENTS))]
        if rng.random() < 0.7:
            self.devices.append(("phone", f"dev-{hexid(rng, 20)}", rng.choice(PHONE_AGENTS)))
        if rng.random() < 0.2:
            self.devices.append(("tablet", f"dev-{hexid(rng, 20)}", TABLET_AGENTS[0]))
        self.start_hour = rng.uniform(7.0, 10.0)
        self.apps = rng.sample(APPS, 4)
        # Events: (time, sequence, record) with record a tuple the writer expands.
        self.events = []

    def add(self, t, record):
        self.events.append([t, len(self.events), record])


# Records: (action, outcome, session_id, device, net, app, factor_or_reason).
# device is (kind, device_id, user_agent).

def plan_session(person, rng, t, device, net, typos=0):
    """A sign-in session: optional failed attempts, the login, token refreshes, a logout."""
    app = rng.choice(person.apps)
    for typo in range(typos, 0, -1):
        person.add(t - typo * rng.randrange(8, 25), ("login", "failure", None, device, net, app,
                                                     "invalid_credentials"))
    session = f"sess-{hexid(rng, 32)}"
    person.add(t, ("login", "success", session, device, net, app, rng.choice(FACTORS)))
    end = t
    for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
        end += rng.randrange(2400, 4200)
        person.add(end, ("token_refresh", "success", session, device, net, app, None))
    if rng.random() < 0.6:
        end += rng.randrange(300, 1800)
        person.add(end, ("logout", "success", session, device, net, app, None))
    return end


# Events a session adds on average: login, 7/6 refreshes, 0.6 logouts, some typos.
EVENTS_PER_SESSION = 1 + 7 / 6 + 0.6 + 0.03


def session_net(person, rng, device, addresses):
    if device[0] == "phone":
        asn, octets = person.carrier
        return Net(addresses.take(octets), asn, person.city, person.country, person.lat,
                   person.lon, 50)
    return person.home


def local_hour(person, rng, device):
    if device[0] == "laptop":
        return person.start_hour + rng.gauss(0.0, 0.6) + rng.choice((0.0, 0.0, 0.0, 5.0))
    if device[0] == "phone":
        return rng.uniform(7.0, 22.0)
    return rng.uniform(18.0, 22.5)


def plan_identity(person, rng, addresses, days, sessions):
    """The identity's ordinary month: returns the (time, device) of each session."""
    day_weights = [1.0 if (d % 7) < 5 else 0.2 for d in range(days)]
    weights = {"laptop": 0.6, "phone": 0.3, "tablet": 0.1}
    device_weights = [weights[d[0]] for d in person.devices]
    planned = []
    for n in range(sessions):
        if n < len(person.devices):
            # Every device is in use from the first days (learned, not new later).
            device, day = person.devices[n], rng.randrange(3)
        else:
            device = rng.choices(person.devices, weights=device_weights)[0]
            day = rng.choices(range(days), weights=day_weights)[0]
        hour = min(max(local_hour(person, rng, device) - person.utc_offset, -6.0), 30.0)
        t = START + day * DAY_S + int(hour * 3600) + rng.randrange(60)
        t = min(max(t, START + 120), START + days * DAY_S - 6 * 3600)
        planned.append((t, device))
    planned.sort(key=lambda p: p[0])
    return planned


def learning_ends(logins):
    """When vigil's learning period ends, given every successful login is learned."""
    if not logins:
        return None
    end = logins[0] + LEARNING_PERIOD_S
    if len(logins) >= LEARNING_LOGINS:
        end = min(end, logins[LEARNING_LOGINS - 1] + 1)
    return end


def far_city(person, rng, choices, min_km):
    options = [c for c in choices if c[1] != person.country
               and haversine_km(person.lat, person.lon, c[2], c[3]) >= min_km]
    return rng.choice(options) if options else None


def attacker_net(rng, addresses, city):
    name, country, lat, lon = city[:4]
    hosting = COUNTRIES[country][3]
    octets = COUNTRIES[country][1][1]
    return Net(addresses.take(octets), hosting, name, country, lat, lon, rng.choice((20, 50, 100)))


def local_proxy(person, rng, addresses):
    asn, octets = COUNTRIES[person.country][1]
    return Net(addresses.take(octets), asn, person.city, person.country, person.lat,
               person.lon, 25)


def attacker_device(rng):
    return ("attacker", f"dev-{hexid(rng, 20)}", rng.choice(ATTACKER_AGENTS))


def build_identity(person, rng, addresses, days, sessions, anomaly):
    planned = plan_identity(person, rng, addresses, days, sessions)
    logins = [t for t, _ in planned]
    learned_by = learning_ends(logins)
    end_of_data = START + days * DAY_S
    window = (learned_by + DAY_S, end_of_data - 6 * 3600) if learned_by else None
    if window and window[0] >= window[1]:
        window = None
    planted = None
    # A benign first use (a new laptop, a country on a trip) must be learned, as the peers
    # learn every sign-in: vigil does not learn one whose session another detector charged,
    # and unusual_hour, the one that fires on benign sign-ins here, needs 20 learned
    # sign-ins. So these come before the identity's 20th login.
    benign = None
    if window:
        benign = (window[0], min(window[1], logins[UNUSUAL_HOUR_SIGN_INS - 1]
                                 if len(logins) >= UNUSUAL_HOUR_SIGN_INS else window[1]))
    if anomaly == "trip" and benign:
        planted = plan_trip(person, rng, addresses, planned, benign)
    if anomaly == "new_device" and benign:
        planted = plan_new_device(person, rng, planned, benign)
    slow_session = set()
    if anomaly == "slow_failures" and window:
        in_window = [i for i, (t, d) in enumerate(planned)
                     if window[0] <= t <= window[1] and d[0] != "phone"]
        if in_window:
            slow_session.add(rng.choice(in_window))
            planted = "slow_failures"
    last_events = []
    for i, (t, device) in enumerate(planned):
        net = session_net(person, rng, device, addresses)
        typos = 0
        if i in slow_session:
            typos = rng.randrange(5, 8)
        elif device[0] != "phone" and rng.random() < 0.02:
            typos = rng.randrange(1, 3)
        end = plan_session(person, rng, t, device, net, typos)
        last_events.append(end)
    if anomaly == "jump" and window:
        planted = plan_jump(person, rng, addresses, last_events, window)
    if anomaly == "stolen" and window:
        planted = plan_stolen(person, rng, addresses, window)
    if anomaly == "burst" and window:
        planted = plan_burst(person, rng, addresses, window)
    # Strictly increasing times within the identity: vigil orders ties by input order,
    # the peers by time alone.
    person.events.sort(key=lambda e: (e[0], e[1]))
    previous = None
    for event in person.events:
        if previous is not None and event[0] <= previous:
            event[0] = previous + 1
        previous = event[0]
    return planted


def plan_trip(person, rng, addresses, planned, window):
    """A trip abroad: no home sign-in from 40 h before to 40 h after, laptop at a hotel."""
    city = far_city(person, rng, [c[:4] for c in HOME_CITIES], 800.0)
    if city is None:
        return None
    length = rng.randrange(2, 5) * DAY_S
    first, last = window[0] + 2 * DAY_S, window[1] - length - 2 * DAY_S
    if first >= last:
        return None
    start = rng.randrange(first, last)
    end = start + length
    planned[:] = [p for p in planned if not (start - 40 * 3600 <= p[0] <= end + 40 * 3600 + 6 * 3600)]
    hotel = attacker_net(rng, addresses, city)
    hotel.asn = COUNTRIES[city[1]][1][0]
    offset = CITY_UTC_OFFSET.get(city[0], COUNTRIES[city[1]][0])
    laptop = person.devices[0]
    day0 = (start - START) // DAY_S + 1
    for day in range(day0, (end - START) // DAY_S + 1):
        for _ in range(rng.randrange(1, 3)):
            hour = rng.uniform(8.0, 20.0) - offset
            t = START + day * DAY_S + int(hour * 3600)
            if start <= t <= end:
                plan_session(person, rng, t, laptop, hotel)
    return "trip"


def plan_new_device(person, rng, planned, window):
    """The user's new laptop: every laptop session from one in the window on uses it."""
    old = person.devices[0]
    starts = [i for i, (t, device) in enumerate(planned)
              if device is old and window[0] <= t < window[1]]
    if not starts:
        return None
    since = planned[rng.choice(starts)][0]
    new = ("laptop", f"dev-{hexid(rng, 20)}", rng.choice(LAPTOP_AGENTS))
    for i, (t, device) in enumerate(planned):
        if t >= since and device is old:
            planned[i] = (t, new)
    return "new_device"


def plan_jump(person, rng, addresses, last_events, window):
    """The attacker signs in from far away minutes after one of the user's sessions."""
    ends = [t for t in last_events if window[0] <= t <= window[1]]
    city = far_city(person, rng, ATTACKER_CITIES, 3000.0)
    if not ends or city is None:
        return None
    t = rng.choice(ends) + rng.randrange(300, 4800)
    net = attacker_net(rng, addresses, city)
    session = f"sess-{hexid(rng, 32)}"
    person.add(t, ("login", "success", session, attacker_device(rng), net, rng.choice(person.apps),
                   rng.choice(("push", "sms"))))
    return "jump"


def quiet_time(person, rng, window, margin):
    """A time in the window at least margin seconds away from the identity's sign-ins."""
    attempts = sorted(e[0] for e in person.events if e[2][0] == "login")
    for _ in range(50):
        t = rng.randrange(window[0], window[1])
        i = bisect.bisect_left(attempts, t - margin)
        if i == len(attempts) or attempts[i] > t + margin:
            return t
    return None


def plan_stolen(person, rng, addresses, window):
    """A stolen password used from a residential proxy in the user's city."""
    t = quiet_time(person, rng, window, 1800)
    if t is None:
        return None
    session = f"sess-{hexid(rng, 32)}"
    person.add(t, ("login", "success", session, attacker_device(rng),
                   local_proxy(person, rng, addresses), rng.choice(person.apps), "push"))
    return "stolen"


def plan_burst(person, rng, addresses, window):
    """12 to 40 failed logins within 8 minutes; a third end in the attacker's success."""
    t = quiet_time(person, rng, window, 1800)
    if t is None:
        return None
    succeeds = rng.random() < 1 / 3
    if succeeds:
        net = local_proxy(person, rng, addresses)
    else:
        net = attacker_net(rng, addresses, rng.choice(ATTACKER_CITIES))
    device = attacker_device(rng)
    app = rng.choice(person.apps)
    count = rng.randrange(12, 41)
    gap = 470 // count
    for _ in range(count):
        person.add(t, ("login", "failure", None, device, net, app, "invalid_credentials"))
        t += rng.randrange(2, gap + 1)
    if succeeds:
        session = f"sess-{hexid(rng, 32)}"
        person.add(t + rng.randrange(20, 90), ("login", "success", session, device, net, app, "sms"))
    return "burst"


def write_realistic(path, events, days, seed):
    rng = random.Random(seed)
    addresses = Addresses(random.Random(seed + 1))
    identities = max(50, round(events / EVENTS_PER_IDENTITY))
    sessions_mean = events / identities / EVENTS_PER_SESSION
    kinds = [k for k, _ in ANOMALIES]
    shares = [s for _, s in ANOMALIES]
    planted = collections.Counter()
    people = []
    for index in range(identities):
        person = Identity(index, rng, addresses)
        roll = rng.random()
        anomaly = None
        for kind, share in zip(kinds, shares):
            if roll < share:
                anomaly = kind
                break
            roll -= share
        sessions = max(3, round(sessions_mean * rng.uniform(0.6, 1.4)))
        got = build_identity(person, rng, addresses, days, sessions, anomaly)
        if got:
            planted[got] += 1
        people.append(person)
    merged = []
    for person in people:
        for t, seq, record in person.events:
            merged.append((t, person.index, seq, record))
        person.events = None
    merged.sort(key=lambda e: (e[0], e[1], e[2]))
    ids = random.Random(seed + 2)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        for t, index, _, (action, outcome, session, device, net, app, extra) in merged:
            person = people[index]
            event = {
                "kind": "auth",
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)),
                "event_id": f"evt-{hexid(ids, 8)}-{hexid(ids, 4)}-{hexid(ids, 4)}-"
                            f"{hexid(ids, 4)}-{hexid(ids, 12)}",
                "identity": person.name,
                "identity_type": "user",
                "app": app,
                "action": action,
                "outcome": outcome,
            }
            if extra is not None:
                event["reason" if outcome != "success" else "factor"] = extra
            if session is not None:
                event["session_id"] = session
            event["device_id"] = device[1]
            event["ip"] = net.ip
            event["asn"] = net.asn
            event["geo"] = net.geo
            event["user_agent"] = device[2]
            out.write(json.dumps(event, separators=(",", ":")))
            out.write("\n")
    tmp.rename(path)
    log(f"wrote {path} ({len(merged):,} events, {identities:,} identities; planted: "
        + ", ".join(f"{k} {planted[k]}" for k in kinds) + ")")


def realistic_file(directory, events):
    name = (f"realistic-v{REALISTIC_VERSION}-e{events}-d{REALISTIC_DAYS}"
            f"-s{REALISTIC_SEED}.jsonl")
    path = directory / name
    if not path.exists():
        log(f"writing {path}")
        write_realistic(path, events, REALISTIC_DAYS, REALISTIC_SEED)
    return path


def storm_file(directory):
    identities, days = STORM_ARGS
    path = directory / f"storm-i{identities}-d{days}.jsonl"
    if not path.exists():
        log(f"writing {path} with benches/storm.py {identities} {days}")
        tmp = path.with_suffix(".tmp")
        script = REPO_ROOT / "benches" / "storm.py"
        res = subprocess.run([sys.executable, str(script), str(identities), str(days), str(tmp)])
        if res.returncode != 0:
            die(f"benches/storm.py failed with exit code {res.returncode}")
        tmp.rename(path)
    return path


# --------------------------------------------------------------------------------------
# Plain Python: the four detectors over one pass of the file
# --------------------------------------------------------------------------------------

_DAY_STARTS = {}


def epoch_seconds(text):
    """Seconds since the epoch of an RFC 3339 time (``2026-03-02T08:00:00Z`` fast)."""
    day = _DAY_STARTS.get(text[:10])
    if day is None:
        day = calendar.timegm(time.strptime(text[:10], "%Y-%m-%d"))
        _DAY_STARTS[text[:10]] = day
    if len(text) == 20 and text[19] == "Z":
        return day + int(text[11:13]) * 3600 + int(text[14:16]) * 60 + int(text[17:19])
    import datetime
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# A place in an identity's travel history: a run of events from one or two addresses.
T, UNTIL, LAT, LON, ACC, IP, ALSO, SUSPECT = range(8)


def _impossible(earlier, later):
    """vigil's `impossible`: the jump between two places, if too fast."""
    later_ip = later[IP]
    earlier_ip = earlier[IP]
    if later_ip is not None and (earlier[IP] == later_ip or earlier[ALSO] == later_ip):
        return False
    if earlier_ip is not None and (later[IP] == earlier_ip or later[ALSO] == earlier_ip):
        return False
    distance = haversine_km(earlier[LAT], earlier[LON], later[LAT], later[LON])
    effective = max(distance - earlier[ACC] - later[ACC], 0.0)
    if effective < MIN_DISTANCE_KM:
        return False
    seconds = max(later[T] - earlier[UNTIL], 0.0)
    return seconds <= 0.0 or effective / (seconds / 3600.0) > MAX_SPEED_KMH


def travel_step(fixes, t, lat, lon, acc, ip):
    """vigil's impossible_travel::detect on an identity's places; whether it fires."""
    position = len(fixes)
    while position and fixes[position - 1][T] > t:
        position -= 1
    previous = fixes[position - 1] if position else None
    if previous is not None and ip is not None and (previous[IP] == ip or previous[ALSO] == ip):
        if t > previous[UNTIL]:
            previous[UNTIL] = t
        return False
    fix = [t, t, lat, lon, acc, ip, None, False]
    found = False
    for earlier in reversed(fixes[:position]):
        if not earlier[SUSPECT]:
            found = _impossible(earlier, fix)
            break
    if not found:
        for later in fixes[position:]:
            if not later[SUSPECT]:
                found = _impossible(fix, later)
                break
    fix[SUSPECT] = found
    if (previous is not None and not found and not previous[SUSPECT] and previous[ALSO] is None
            and ip is not None
            and haversine_km(previous[LAT], previous[LON], lat, lon) <= previous[ACC] + acc):
        previous[ALSO] = ip
        if t > previous[UNTIL]:
            previous[UNTIL] = t
        return False
    fixes.insert(position, fix)
    if len(fixes) > max(TRAVEL_HISTORY, 2):
        newest_trusted = None
        for index in range(len(fixes) - 1, -1, -1):
            if not fixes[index][SUSPECT]:
                newest_trusted = index
                break
        evict = next((i for i, f in enumerate(fixes) if f[SUSPECT]), None)
        if evict is None:
            evict = next((i for i in range(len(fixes)) if i != newest_trusted), 0)
        del fixes[evict]
    return found


def burst_step(window, t, failed):
    """vigil's brute_force::detect on an identity's failure window; whether it fires."""
    failures = window[0]
    stale = 0
    while stale < len(failures) and t - failures[stale] > PRUNE_AFTER_S:
        stale += 1
    if stale:
        del failures[:stale]
    if not failed:
        count = sum(1 for f in failures if f <= t and t - f <= BURST_WINDOW_S)
        del failures[:bisect.bisect_right(failures, t)]
        return count >= BURST_FAILURES
    bisect.insort_right(failures, t)
    if len(failures) > MAX_REMEMBERED_FAILURES:
        del failures[0]
    # The fullest window holding this failure: the one ending at it or at a later one.
    count = 0
    for end in failures[bisect.bisect_left(failures, t):]:
        if end - t > BURST_WINDOW_S:
            break
        count = max(count, sum(1 for f in failures if f <= end and end - f <= BURST_WINDOW_S))
    quiet = window[1] is not None and abs(t - window[1]) <= BURST_WINDOW_S
    if count >= BURST_FAILURES and not quiet:
        window[1] = t
        return True
    return False


def python_detectors(path):
    """The four detectors in plain Python, one pass; counts by detector."""
    loads = json.loads
    travel = {}
    profiles = {}  # identity -> [first sign-in time, logins, devices, countries]
    windows = {}  # identity -> [failure times (sorted), time of the last burst signal]
    impossible_travel = new_country = new_device = brute_force = 0
    events = 0
    with open(path, "rb") as lines:
        for line in lines:
            event = loads(line)
            events += 1
            identity = event.get("identity")
            if not identity:
                continue
            kind = event.get("kind")
            if kind == "auth":
                action = event.get("action")
                outcome = event.get("outcome")
                located = outcome == "success"
            elif kind == "access":
                action = outcome = None
                located = True
            else:
                continue
            t = epoch_seconds(event["time"])
            geo = event.get("geo")
            if located and geo:
                lat = geo.get("lat")
                lon = geo.get("lon")
                if lat is not None and lon is not None:
                    acc = geo.get("accuracy_km")
                    if acc is None or acc < 0:
                        acc = DEFAULT_ACCURACY_KM
                    fixes = travel.get(identity)
                    if fixes is None:
                        fixes = travel[identity] = []
                    if travel_step(fixes, t, lat, lon, acc, event.get("ip") or None):
                        impossible_travel += 1
            if kind != "auth":
                continue
            if outcome == "success" and (action == "login" or action == "mfa"):
                profile = profiles.get(identity)
                if profile is None:
                    profile = profiles[identity] = [None, 0, set(), set()]
                first, logins, devices, countries = profile
                device = event.get("device_id") or None
                country = geo.get("country") if geo else None
                if country:
                    country = country.upper()
                learning = logins == 0 or (t - first < LEARNING_PERIOD_S and logins < LEARNING_LOGINS)
                if not learning:
                    if device is not None and device not in devices:
                        new_device += 1
                    if country and country not in countries:
                        new_country += 1
                if action == "login":
                    profile[1] = logins + 1
                if first is None or t < first:
                    profile[0] = t
                if device is not None:
                    devices.add(device)
                if country:
                    countries.add(country)
            if action == "login" and outcome in ("success", "failure", "denied"):
                failed = outcome != "success"
                window = windows.get(identity)
                if window is None:
                    if not failed:
                        continue
                    window = windows[identity] = [[], None]
                if burst_step(window, t, failed):
                    brute_force += 1
    return events, {"impossible_travel": impossible_travel, "new_country": new_country,
                    "new_device": new_device, "brute_force": brute_force}


# --------------------------------------------------------------------------------------
# DuckDB: the four detectors in SQL
# --------------------------------------------------------------------------------------

DUCKDB_LOAD = """
CREATE TEMP TABLE ev AS
SELECT identity, kind, action, outcome, device_id, ip,
       geo.lat AS lat, geo.lon AS lon, upper(geo.country) AS country,
       coalesce(geo.accuracy_km, {default_accuracy}) AS acc,
       epoch(strptime(time, '%Y-%m-%dT%H:%M:%SZ'))::BIGINT AS t
FROM read_ndjson({path}, columns = {{
    kind: 'VARCHAR', time: 'VARCHAR', identity: 'VARCHAR', action: 'VARCHAR',
    outcome: 'VARCHAR', device_id: 'VARCHAR', ip: 'VARCHAR',
    geo: 'STRUCT(lat DOUBLE, lon DOUBLE, country VARCHAR, accuracy_km DOUBLE)'}})
"""

# impossible(earlier, later): vigil's rule between two located events, `a` then `b`.
DUCKDB_MACROS = """
CREATE MACRO effective_km(lat1, lon1, acc1, lat2, lon2, acc2) AS greatest(
    2 * {radius} * asin(least(1, sqrt(
        pow(sin(radians(lat2 - lat1) / 2), 2)
        + cos(radians(lat1)) * cos(radians(lat2)) * pow(sin(radians(lon2 - lon1) / 2), 2))))
    - acc1 - acc2, 0);
CREATE MACRO impossible(ip1, t1, lat1, lon1, acc1, ip2, t2, lat2, lon2, acc2) AS
    t1 IS NOT NULL AND NOT coalesce(ip1 = ip2, false)
    AND effective_km(lat1, lon1, acc1, lat2, lon2, acc2) >= {min_km}
    AND (t2 - t1 <= 0
         OR effective_km(lat1, lon1, acc1, lat2, lon2, acc2) * 3600 / (t2 - t1) > {max_kmh});
"""

DUCKDB_QUERY = """
WITH located AS (
    SELECT identity, t, ip, lat, lon, acc FROM ev
    WHERE ((kind = 'auth' AND outcome = 'success') OR kind = 'access')
      AND lat IS NOT NULL AND lon IS NOT NULL
),
lagged AS (
    SELECT t, ip, lat, lon, acc,
        lag(t, 1) OVER w AS t1, lag(ip, 1) OVER w AS ip1, lag(lat, 1) OVER w AS lat1,
        lag(lon, 1) OVER w AS lon1, lag(acc, 1) OVER w AS acc1,
        lag(t, 2) OVER w AS t2, lag(ip, 2) OVER w AS ip2, lag(lat, 2) OVER w AS lat2,
        lag(lon, 2) OVER w AS lon2, lag(acc, 2) OVER w AS acc2,
        lag(t, 3) OVER w AS t3, lag(ip, 3) OVER w AS ip3, lag(lat, 3) OVER w AS lat3,
        lag(lon, 3) OVER w AS lon3, lag(acc, 3) OVER w AS acc3
    FROM located
    WINDOW w AS (PARTITION BY identity ORDER BY t)
),
-- The previous event's own verdict, one flagged place skipped below it; then this one's.
judged AS (
    SELECT CASE WHEN (CASE WHEN impossible(ip3, t3, lat3, lon3, acc3, ip2, t2, lat2, lon2, acc2)
                           THEN impossible(ip3, t3, lat3, lon3, acc3, ip1, t1, lat1, lon1, acc1)
                           ELSE impossible(ip2, t2, lat2, lon2, acc2, ip1, t1, lat1, lon1, acc1) END)
                THEN impossible(ip2, t2, lat2, lon2, acc2, ip, t, lat, lon, acc)
                ELSE impossible(ip1, t1, lat1, lon1, acc1, ip, t, lat, lon, acc) END AS fired
    FROM lagged
),
sign_ins AS (
    SELECT t, device_id, country,
        count(*) FILTER (WHERE action = 'login') OVER (
            PARTITION BY identity ORDER BY t ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
            AS logins_before,
        min(t) OVER (
            PARTITION BY identity ORDER BY t ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
            AS first_t,
        row_number() OVER (PARTITION BY identity, device_id ORDER BY t) AS device_nth,
        row_number() OVER (PARTITION BY identity, country ORDER BY t) AS country_nth
    FROM ev
    WHERE kind = 'auth' AND outcome = 'success' AND action IN ('login', 'mfa')
),
first_seen AS (
    SELECT
        count(*) FILTER (WHERE device_id IS NOT NULL AND device_id <> '' AND device_nth = 1)
            AS new_device,
        count(*) FILTER (WHERE country IS NOT NULL AND country <> '' AND country_nth = 1)
            AS new_country
    FROM sign_ins
    WHERE logins_before > 0 AND NOT (t - first_t < {learning_s} AND logins_before < {learning_logins})
),
attempts AS (
    SELECT identity, t, outcome <> 'success' AS failed,
        coalesce(sum((outcome = 'success')::INTEGER) OVER (
            PARTITION BY identity ORDER BY t ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
            AS since_success
    FROM ev
    WHERE kind = 'auth' AND action = 'login' AND outcome IN ('success', 'failure', 'denied')
),
counted AS (
    SELECT identity, t, failed,
        sum(failed::INTEGER) OVER (
            PARTITION BY identity, since_success ORDER BY t
            RANGE BETWEEN {window_s} PRECEDING AND CURRENT ROW) AS failures
    FROM attempts
),
over AS (
    SELECT failed, failures, failed AND failures >= {burst} AS above,
        coalesce(sum((failed AND failures >= {burst})::INTEGER) OVER (
            PARTITION BY identity ORDER BY t
            RANGE BETWEEN {window_s} PRECEDING AND CURRENT ROW EXCLUDE CURRENT ROW), 0)
            AS above_before
    FROM counted
)
SELECT
    (SELECT count(*) FILTER (WHERE fired) FROM judged) AS impossible_travel,
    (SELECT new_country FROM first_seen) AS new_country,
    (SELECT new_device FROM first_seen) AS new_device,
    (SELECT count(*) FILTER (WHERE (above AND above_before = 0)
                             OR (NOT failed AND failures >= {burst})) FROM over) AS brute_force,
    (SELECT count(*) FROM ev) AS events
"""


def sql_str(text):
    return "'" + text.replace("'", "''") + "'"


def duckdb_detectors(path):
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("SET threads = 1")
    con.execute("SET enable_progress_bar = false")
    con.execute(DUCKDB_LOAD.format(path=sql_str(str(path)), default_accuracy=DEFAULT_ACCURACY_KM))
    for statement in DUCKDB_MACROS.format(radius=EARTH_RADIUS_KM, min_km=MIN_DISTANCE_KM,
                                          max_kmh=MAX_SPEED_KMH).split(";"):
        if statement.strip():
            con.execute(statement)
    row = con.execute(DUCKDB_QUERY.format(
        learning_s=LEARNING_PERIOD_S, learning_logins=LEARNING_LOGINS,
        window_s=BURST_WINDOW_S, burst=BURST_FAILURES)).fetchone()
    counts = dict(zip(DETECTORS, (int(v) for v in row[:4])))
    return int(row[4]), counts


# --------------------------------------------------------------------------------------
# The harness
# --------------------------------------------------------------------------------------

def timed(command):
    """Runs a child to completion: (CPU seconds of it, wall seconds, stdout, stderr)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    res = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if res.returncode != 0:
        die(f"`{' '.join(map(str, command))}` failed with exit code {res.returncode}:\n"
            f"{res.stderr[-3000:]}")
    return cpu, wall, res.stdout, res.stderr


def vigil_signals(summary):
    """The per-detector counts of the `signals` section of vigil's summary."""
    counts = {}
    section = False
    for line in summary.splitlines():
        if not line.startswith(" "):
            section = line.strip() == "signals"
            continue
        if section:
            parts = line.split()
            if len(parts) == 2 and parts[0].isdigit():
                counts[parts[1]] = int(parts[0])
    return counts


def vigil_events(summary):
    for line in summary.splitlines():
        if line.startswith("events judged"):
            return int(line.split()[-1])
    die(f"no `events judged` line in vigil's summary:\n{summary}")


def run_engine(engine, path, args, duckdb_python, scratch):
    if engine == "vigil":
        output = scratch / "vigil-decisions.jsonl"
        command = [str(args.vigil), "replay", "--input", str(path), "--output", str(output),
                   "--rejects", str(scratch / "vigil-rejects.jsonl")]
        cpu, wall, _, summary = timed(command)
        for leftover in (output, scratch / "vigil-rejects.jsonl"):
            leftover.unlink(missing_ok=True)
        signals = vigil_signals(summary)
        return cpu, wall, vigil_events(summary), {d: signals.get(d, 0) for d in DETECTORS}
    python = duckdb_python if engine == "duckdb" else sys.executable
    command = [str(python), str(Path(__file__).resolve()), "--engine", engine, "--input", str(path)]
    cpu, wall, out, _ = timed(command)
    result = json.loads(out)
    return cpu, wall, result["events"], result["counts"]


def bench_file(label, path, args, duckdb_python, scratch):
    size_mb = path.stat().st_size / 1e6
    log(f"{label}: {path} ({size_mb:,.0f} MB), {args.runs} run(s) of {', '.join(ENGINES)}")
    results = {engine: [] for engine in ENGINES}
    for run in range(args.runs):
        for engine in ENGINES:
            cpu, wall, events, counts = run_engine(engine, path, args, duckdb_python, scratch)
            results[engine].append((cpu, wall, events, counts))
            log(f"  run {run + 1} {engine:<6} cpu {cpu:7.2f} s  wall {wall:7.2f} s  {counts}")
    return report(label, path, size_mb, results)


def report(label, path, size_mb, results):
    events = {engine: {r[2] for r in runs} for engine, runs in results.items()}
    counts = {engine: runs[0][3] for engine, runs in results.items()}
    problems = []
    all_events = set().union(*events.values())
    if len(all_events) != 1:
        problems.append(f"engines read different numbers of events: {events}")
    for engine, runs in results.items():
        if any(r[3] != runs[0][3] for r in runs):
            problems.append(f"{engine}'s counts changed between runs: {[r[3] for r in runs]}")
    n_events = min(all_events)
    print()
    print(f"== {label}: {path.name}  ({n_events:,} events, {size_mb:,.0f} MB)")
    print(f"{'detector':<20}" + "".join(f"{engine:>10}" for engine in ENGINES))
    for detector in DETECTORS:
        row = [counts[engine][detector] for engine in ENGINES]
        mark = "" if len(set(row)) == 1 else "   <-- differ"
        print(f"{detector:<20}" + "".join(f"{v:>10,}" for v in row) + mark)
        base = counts["vigil"][detector]
        for engine in ENGINES[1:]:
            other = counts[engine][detector]
            if other != base:
                problems.append(f"{detector}: {engine} {other:,} vs vigil {base:,} "
                                f"({other - base:+,})")
    print("counts agree" if not problems else "COUNTS DISAGREE")
    print()
    print(f"{'engine':<8}{'cpu s':>9}{'wall s':>9}{'events/cpu-s':>15}{'vigil is':>11}")
    rates = {}
    for engine in ENGINES:
        runs = results[engine]
        rates[engine] = statistics.median(n_events / max(r[0], 1e-9) for r in runs)
    for engine in ENGINES:
        runs = results[engine]
        cpu = statistics.median(r[0] for r in runs)
        wall = statistics.median(r[1] for r in runs)
        ratio = rates["vigil"] / rates[engine]
        print(f"{engine:<8}{cpu:>9.2f}{wall:>9.2f}{rates[engine]:>15,.0f}{ratio:>10.2f}x")
    print(f"(median of {len(results['vigil'])} run(s); 'vigil is' = vigil's events per CPU-second"
          f" over the engine's)")
    return problems


def child(engine, path):
    if engine == "python":
        events, counts = python_detectors(path)
    else:
        events, counts = duckdb_detectors(path)
    json.dump({"events": events, "counts": counts}, sys.stdout)
    sys.stdout.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="runs of each engine (default 3)")
    ap.add_argument("--only", choices=("realistic", "storm"), help="one file only")
    ap.add_argument("--events", type=int, default=1_000_000,
                    help="events of the realistic file (default 1,000,000)")
    ap.add_argument("--vigil", type=Path, default=REPO_ROOT / "target" / "release" / "vigil",
                    help="the vigil binary (default target/release/vigil)")
    ap.add_argument("--dir", type=Path, default=REPO_ROOT / "target" / "peers",
                    help="where the input files go (default target/peers)")
    ap.add_argument("--engine", choices=("python", "duckdb"), help=argparse.SUPPRESS)
    ap.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.engine:
        child(args.engine, args.input)
        return
    if args.runs < 1:
        die("--runs must be at least 1")
    if args.events < 1000:
        die("--events must be at least 1000")
    if not args.vigil.is_file():
        die(f"no vigil binary at {args.vigil} (cargo build --release, or --vigil PATH)")
    args.dir.mkdir(parents=True, exist_ok=True)
    try:
        duckdb_python = venv_python(log)
    except VenvError as error:
        die(str(error))
    started = time.perf_counter()
    files = []
    if args.only in (None, "realistic"):
        files.append(("realistic", realistic_file(args.dir, args.events)))
    if args.only in (None, "storm"):
        files.append(("storm", storm_file(args.dir)))
    problems = []
    for label, path in files:
        problems += [f"{label}: {p}" for p in bench_file(label, path, args, duckdb_python, args.dir)]
    print()
    print(f"took {time.perf_counter() - started:,.0f} s")
    if problems:
        print("the engines disagree:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
