#!/usr/bin/env bash
# Creates .venv-keras: Python TensorFlow/Keras for the reference fixtures (tools/keras/make_*.py) and the
# Keras side of the benchmark. Not needed by the tests or the notebooks. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."  # the project root (this script is in tools/setup/)
REQS=(tensorflow-cpu==2.21.0 keras==3.15.1 h5py==3.14.0 pillow==12.3.0)
stamp=.venv-keras/.requirements
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${REQS[*]}" ]; then exit 0; fi
echo "creating .venv-keras with ${REQS[*]} (pip)…" >&2
python3 -m venv .venv-keras
.venv-keras/bin/python -m pip install --quiet --retries 0 "${REQS[@]}"
echo "${REQS[*]}" > "$stamp"
