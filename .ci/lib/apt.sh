# apt_install PACKAGE...: install Debian packages and what they depend on
# (not what they recommend), for the CI steps that need a tool the machine
# lacks (sourced, not run). CI runs as root on a fresh Debian machine; as
# another user it goes through sudo. The package lists are refreshed only
# when the install fails without it (a fresh machine may have none).
apt_install() {
  local sudo="" log
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  log=$(mktemp)
  export DEBIAN_FRONTEND=noninteractive
  if ! $sudo apt-get install -y -q --no-install-recommends "$@" > "$log" 2>&1; then
    { $sudo apt-get update -q && $sudo apt-get install -y -q --no-install-recommends "$@"; } \
      > "$log" 2>&1 || { tail -n 40 "$log"; echo "apt-get could not install $*" >&2; exit 1; }
  fi
  rm -f "$log"
}
