#!/usr/bin/env bash
# Sets up the Python peer tools once in bench/.peers (a writable copy of
# ../shared/bench/peers, or of PEERS_SRC) and prints the folder.
set -euo pipefail
cd "$(dirname "$0")"
src="${PEERS_SRC:-../../shared/bench/peers}"
if [[ ! -x .peers/.venv/bin/python ]]; then
  [[ -f "$src/setup.sh" ]] || { echo "no peers at $src (set PEERS_SRC)" >&2; exit 2; }
  rm -rf .peers && cp -r "$src" .peers && chmod -R u+w .peers
  (cd .peers && bash setup.sh >&2)
fi
echo "$(pwd)/.peers"
