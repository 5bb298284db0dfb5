# Shared by the scripts in this folder: paths, messages, package installs.
# shellcheck shell=bash
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
mkdir -p "$TOOLS"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Installs the Debian packages of "$@" that are missing. Elsewhere, names what to install.
APT_UPDATED=""
need_apt() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "please install: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ -z "$APT_UPDATED" ]; then
    say "apt-get update"
    $sudo apt-get update -q >/dev/null
    APT_UPDATED=1
  fi
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}" >/dev/null
}

# Version of a crate as locked in Cargo.lock.
locked_version() {
  awk -v name="$1" '$0 == "name = \"" name "\"" { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

# Installs a folder's npm packages from its lockfile, unless the installed ones came from it
# (the stamp is a copy of the lockfile they were installed from).
npm_ci() {
  local dir="$1"
  cmp -s "$dir/package-lock.json" "$dir/node_modules/.installed-lock.json" 2>/dev/null && return 0
  command -v npm >/dev/null || need_apt nodejs npm
  say "installing npm packages of ${dir#"$ROOT"/}"
  (cd "$dir" && npm ci --silent --no-audit --no-fund)
  cp "$dir/package-lock.json" "$dir/node_modules/.installed-lock.json"
}

# Installs a pinned Python package (NAME==VERSION) into .tools/venv unless that version is there.
venv_install() {
  local spec="$1" name="${1%%==*}" version="${1##*==}"
  "$TOOLS/venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('$name') != '$version')" \
    2>/dev/null && return 0
  if [ ! -x "$TOOLS/venv/bin/python" ]; then
    python3 -m venv "$TOOLS/venv" 2>/dev/null || { need_apt python3-venv && python3 -m venv "$TOOLS/venv"; }
  fi
  say "installing $spec into .tools/venv"
  "$TOOLS/venv/bin/pip" install --quiet "$spec"
}
