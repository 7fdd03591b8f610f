#!/bin/sh
# Packaging check for the flat layout: build the wheel, install it into a fresh virtualenv that
# borrows the dependencies already installed in .venv, and run camshark from outside the
# checkout, so a module or data file missing from the wheel fails here and not for a user.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! "$root/.venv/bin/python" -m pip wheel -q --no-deps --no-build-isolation -w "$work/dist" "$root" \
        >"$work/build.log" 2>&1; then
    cat "$work/build.log" >&2
    exit 1
fi
python3 -m venv "$work/venv"
site=$("$root/.venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
target=$("$work/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$site" > "$target/camshark-deps.pth"
"$work/venv/bin/python" -m pip install -q --no-deps "$work"/dist/camshark-*.whl
cd "$work"
"$work/venv/bin/python" -m sniffer --version
sample=$("$work/venv/bin/python" -c 'from sniffer.samples import default_capture; print(default_capture())')
case "$sample" in "$root"*) echo "wheel smoke: sample resolved inside the checkout: $sample" >&2; exit 1;; esac
count=$("$work/venv/bin/camshark" read "$sample" | wc -l)
[ "$count" -gt 50 ] || { echo "wheel smoke: only $count messages from $sample" >&2; exit 1; }
"$work/venv/bin/camshark" protocols >/dev/null
"$work/venv/bin/camshark" simulate smartlpr --help >/dev/null
"$work/venv/bin/camshark" simulate dualcam --help >/dev/null
echo "wheel smoke: ok ($count messages from the bundled sample)"
