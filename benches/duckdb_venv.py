"""The pinned DuckDB the Python benches compare with, in one venv they share.

``venv_python()`` gives the python of the venv (``target/bench-venv`` in the repo, or
``$VIGIL_BENCH_VENV``) with ``duckdb==DUCKDB_PIN`` importable, creating the venv and
pip-installing duckdb into it when needed. Used by ``archive_duckdb.py`` and
``peers.py``; standard library only.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

DUCKDB_PIN = "1.5.6"
REPO_ROOT = Path(__file__).resolve().parent.parent


class VenvError(Exception):
    """The venv could not be made ready; the message says what to do."""


def venv_path():
    """Where the venv is (or goes)."""
    return Path(os.environ.get("VIGIL_BENCH_VENV") or REPO_ROOT / "target" / "bench-venv")


def venv_python(log):
    """The venv's python with the pinned duckdb, created and installed when needed;
    progress goes to ``log``; raises ``VenvError`` when that fails."""
    venv = venv_path()
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    if not python.exists():
        log(f"creating venv {venv}")
        existed = venv.exists()
        res = subprocess.run([sys.executable, "-m", "venv", str(venv)], stdout=sys.stderr)
        if res.returncode != 0 or not python.exists():
            if not existed:
                shutil.rmtree(venv, ignore_errors=True)
            ver = f"{sys.version_info.major}.{sys.version_info.minor}"
            raise VenvError(
                f"'{sys.executable} -m venv {venv}' failed (is ensurepip missing?). "
                f"On Debian/Ubuntu install it with: apt-get install python3-venv "
                f"(or python{ver}-venv), or install duckdb=={DUCKDB_PIN} for this python."
            )
    check = f"import duckdb, sys; sys.exit(duckdb.__version__ != {DUCKDB_PIN!r})"
    if subprocess.run([str(python), "-c", check], stderr=subprocess.DEVNULL).returncode != 0:
        log(f"installing duckdb=={DUCKDB_PIN} into {venv}")
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        if subprocess.run(pip + [f"duckdb=={DUCKDB_PIN}"], stdout=sys.stderr).returncode != 0:
            raise VenvError(f"pip install duckdb=={DUCKDB_PIN} into {venv} failed")
    return python
