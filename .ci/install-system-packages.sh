#!/usr/bin/env bash
# Debian/Ubuntu packages the test suite needs besides .venv:
#   slurm-wlm, munge         a one-machine SLURM cluster (tests/test_slurm.py)
#   chromium                 a headless browser for the report page
#   openjdk-17-jdk-headless  javac, to check generated Java code
#   bubblewrap               the OS sandbox that model-written Java runs in
# With package names as arguments, only those (`make run` asks for bubblewrap alone).
# Idempotent: apt-get runs only when a package is missing. Run as root (or with sudo).
set -euo pipefail

PACKAGES=(slurm-wlm munge chromium openjdk-17-jdk-headless bubblewrap)
if [ $# -gt 0 ]; then
    PACKAGES=("$@")
fi

missing=()
for package in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "System packages already installed: ${PACKAGES[*]}"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

echo "Installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
