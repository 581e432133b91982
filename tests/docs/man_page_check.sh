#!/usr/bin/env bash
# The manual page and the help agree (issue 16): docs/sluice.1 is what `sluice help --man` prints,
# `man -l` renders it without a warning, and every command has its `sluice help COMMAND`.
# usage: man_page_check.sh SLUICE_BINARY   (run from the source directory)
set -euo pipefail
sluice=$1
fail() { echo "FAIL: $*" >&2; exit 1; }

"$sluice" help --man | diff -u docs/sluice.1 - >&2 ||
  fail "docs/sluice.1 differs from 'sluice help --man' (exe/help.cpp); regenerate it with: $sluice help --man > docs/sluice.1"

command -v man >/dev/null || fail "man is missing (Debian package man-db, in the Makefile's packages)"
warnings=$(mktemp)
trap 'rm -f "$warnings"' EXIT
rendered=$(MANWIDTH=100 man --warnings -l docs/sluice.1 2>"$warnings")
[ ! -s "$warnings" ] || { cat "$warnings" >&2; fail "man -l docs/sluice.1 warns"; }
for section in NAME SYNOPSIS COMMANDS OPTIONS SIGNALS "ADMIN LISTENER" "EXIT STATUS"; do
  grep -q "^$section" <<<"$rendered" || fail "the rendered page has no $section section"
done

help=$("$sluice" --help)
for command in run check demo help version; do
  "$sluice" help "$command" >/dev/null || fail "sluice help $command failed"
done
for flag in --config --allow-chain-errors --strict --format --offline --kubernetes --man --help --version; do
  grep -q -- "$flag" <<<"$help" || fail "sluice --help does not describe $flag"
  grep -q -- "${flag//-/\\\\-}" docs/sluice.1 || fail "docs/sluice.1 does not describe $flag"
done
if "$sluice" help no-such-command >/dev/null 2>&1; then fail "help of an unknown command exits 0"; fi
echo "man page and help agree: 1 passed, 0 failed"
