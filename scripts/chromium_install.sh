#!/usr/bin/env bash
# Installs Debian's chromium when it is missing, for python/tests/test_report_chromium.py
# (the report rendered as a person sees it) and `make report` (its screenshot). Playwright
# drives this system build: no browser is downloaded.
# TAOJIN_CHROMIUM=skip skips (the test then skips too); TAOJIN_CHROMIUM=/path uses another
# build. Where chromium is missing and cannot be installed (not root, no apt-get) this
# fails: the report test would fail without it.
set -euo pipefail
want=${TAOJIN_CHROMIUM:-/usr/bin/chromium}
[[ $want == skip ]] && { echo "chromium install skipped: TAOJIN_CHROMIUM=skip"; exit 0; }
[[ -x $want ]] && exit 0
fail() { echo "chromium missing at $want: $* (TAOJIN_CHROMIUM=skip skips the report's browser test)" >&2; exit 1; }
[[ $want == /usr/bin/chromium ]] || fail "TAOJIN_CHROMIUM names a build that is not there"
[[ $(id -u) == 0 ]] || fail "not root, cannot apt-get install chromium"
command -v apt-get >/dev/null || fail "no apt-get to install chromium"
echo "installing chromium (Debian package, once)..."
(apt-get install -y -qq --no-install-recommends --no-upgrade chromium >/dev/null 2>&1 ||
  (apt-get update -qq && apt-get install -y -qq --no-install-recommends --no-upgrade chromium >/dev/null)) ||
  fail "apt-get could not install chromium"
[[ -x $want ]] || fail "apt-get installed chromium, but not at $want"
