#!/bin/sh
# System packages the tests use for real: tshark (pcapng interop), socat (pty pairs), tmux (TUI
# end-to-end), and a C compiler for the optional kernels (dissectors/_speedups.c). Installed
# non-interactively when missing and we may use apt-get; otherwise say what is missing and let
# the tests that need it skip with that reason.
set -eu
missing=""
for tool in tshark socat tmux; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
command -v cc >/dev/null 2>&1 || missing="$missing gcc"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
    apt_get="apt-get"
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    apt_get="sudo apt-get"
else
    echo "camshark: missing system packages:$missing (install them with your package manager)" >&2
    exit 0
fi
echo "camshark: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$apt_get update -qq
$apt_get install -y -qq --no-install-recommends $missing >/dev/null
