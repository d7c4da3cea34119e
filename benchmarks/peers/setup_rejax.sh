#!/usr/bin/env bash
# Create (or verify) the isolated virtual environment used to benchmark the
# `rejax` peer library: benchmarks/peers/.venv-rejax, with the exact pins from
# benchmarks/peers/requirements-rejax.txt.
#
# Idempotent: if the venv exists, imports rejax/gymnax/jax and every pinned
# distribution is installed at its pinned version, it does nothing but print
# the versions. Otherwise it (re)creates the venv and installs the pins.
#
# Usage:   bash benchmarks/peers/setup_rejax.sh          (from any cwd)
# Env:     REJAX_PYTHON  interpreter used to create the venv (default: python3.11,
#                        else python3). Must be Python >= 3.11 (jaxlib 0.10.2).
#          REJAX_VENV    override the venv location (default: <this dir>/.venv-rejax)
#          REJAX_FORCE=1 delete and recreate the venv.
set -euo pipefail

HERE="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
VENV="${REJAX_VENV:-$HERE/.venv-rejax}"
REQS="$HERE/requirements-rejax.txt"
PY="$VENV/bin/python"

die() { echo "setup_rejax.sh: ERROR: $*" >&2; exit 1; }
log() { echo "setup_rejax.sh: $*" >&2; }

[[ -f "$REQS" ]] || die "pin file not found: $REQS"

# Checks that every pin in $REQS is installed at exactly that version and that
# the packages rejax_ppo.py needs import; prints the key versions on success.
verify() {
    "$PY" - "$REQS" <<'PYEOF'
import re, sys
from importlib import metadata

bad = []
for raw in open(sys.argv[1]):
    line = raw.split("#", 1)[0].strip()
    if not line:
        continue
    name, _, want = line.partition("==")
    try:
        have = metadata.version(name.strip())
    except metadata.PackageNotFoundError:
        have = None
    if have != want.strip():
        bad.append(f"{name.strip()}: want {want.strip()}, have {have}")
if bad:
    print("version mismatch:\n  " + "\n  ".join(bad), file=sys.stderr)
    sys.exit(1)

import warnings
warnings.simplefilter("ignore")
import jax, jaxlib, flax, optax, distrax, chex, gymnax, rejax  # noqa: F401
from rejax import PPO  # noqa: F401

print(f"python   {sys.version.split()[0]}  ({sys.executable})")
for n in ["rejax", "gymnax", "jax", "jaxlib", "flax", "optax", "distrax", "chex", "numpy"]:
    print(f"{n:8s} {metadata.version(n)}")
print(f"devices  {jax.devices()}")
PYEOF
}

if [[ "${REJAX_FORCE:-0}" == "1" && -d "$VENV" ]]; then
    log "REJAX_FORCE=1: removing $VENV"
    rm -rf -- "$VENV"
fi

if [[ -x "$PY" ]] && verify 2>/dev/null; then
    log "venv OK, nothing to do: $VENV"
    exit 0
fi

# Pick the base interpreter.
BASE_PY="${REJAX_PYTHON:-}"
if [[ -z "$BASE_PY" ]]; then
    for cand in python3.11 python3; do
        if command -v "$cand" >/dev/null 2>&1; then BASE_PY="$cand"; break; fi
    done
fi
[[ -n "$BASE_PY" ]] || die "no python3 found; set REJAX_PYTHON"
command -v "$BASE_PY" >/dev/null 2>&1 || die "interpreter not found: $BASE_PY (set REJAX_PYTHON)"
"$BASE_PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
    || die "$BASE_PY is $("$BASE_PY" -V 2>&1); jaxlib 0.10.2 needs Python >= 3.11 (set REJAX_PYTHON)"

if [[ ! -x "$PY" ]]; then
    log "creating venv $VENV with $("$BASE_PY" -V 2>&1)"
    "$BASE_PY" -m venv "$VENV" || die "python -m venv failed (on Debian: apt-get install python3-venv)"
else
    log "venv exists but is incomplete or has wrong versions; reinstalling pins"
fi

log "installing pins from $REQS"
"$PY" -m pip install --disable-pip-version-check -q --upgrade pip \
    || die "could not upgrade pip in $VENV"
"$PY" -m pip install --disable-pip-version-check -q -r "$REQS" \
    || die "pip install -r $REQS failed (see pip output above)"
"$PY" -m pip check >&2 || die "pip check reports broken requirements in $VENV"

verify || die "venv $VENV installed but verification failed (see above)"
log "done: $VENV"
