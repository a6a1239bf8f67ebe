#!/usr/bin/env python3
# The storm file of the policy bench (README, Performance): every identity's one session
# used from its laptop and its phone in turn, so session hijack fires and most events are
# judged by the policy; time-ordered native events, ten a day per identity.
# Usage: python3 benches/storm.py IDENTITIES DAYS OUTPUT   (the README's: 2000 15)
import json, random, sys, datetime
random.seed(5)
ids = int(sys.argv[1]); days = int(sys.argv[2]); out = open(sys.argv[3], "w")
start = datetime.datetime(2026, 3, 1, tzinfo=datetime.timezone.utc)
events = []
for d in range(days):
    for i in range(ids):
        t0 = start + datetime.timedelta(days=d, seconds=8*3600 + random.randrange(7200))
        sess = f"s-{i}"
        base = {"identity": f"user{i:05}@example.com", "session_id": sess,
                "ip": f"85.214.{i//256 % 256}.{i%256}", "asn": 3320,
                "geo": {"lat": 52.52, "lon": 13.405, "country": "DE", "city": "Berlin", "accuracy_km": 20}}
        for k in range(10):
            dev = "laptop" if k % 2 == 0 else "phone"
            e = dict(base)
            e["time"] = (t0 + datetime.timedelta(seconds=600*k)).strftime("%Y-%m-%dT%H:%M:%SZ")
            e["device_id"] = f"{dev}-{i:05}"
            if k == 0:
                e.update({"kind": "auth", "action": "login", "outcome": "success"})
            else:
                e.update({"kind": "access", "resource": "https://mail.example.com/inbox", "action": "GET", "bytes": 20000, "status": 200})
            events.append((e["time"], json.dumps(e)))
events.sort(key=lambda x: x[0])
for _, l in events: out.write(l + "\n")
