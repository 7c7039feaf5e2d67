#!/usr/bin/env bash
# Installs what tools/browser/browser_check.ts needs beyond the project's npm/pip dependencies: Debian's chromium
# and the DejaVu fonts (charts and screenshots). Idempotent; uses apt-get as root, or sudo.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
if [ ${#need[@]} -eq 0 ]; then
  echo "chromium and fonts-dejavu-core already installed"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing ${need[*]} (apt-get)…"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
/usr/bin/chromium --version
