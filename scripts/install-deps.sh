#!/bin/sh
# Installs every Debian 12 package ssm-milter needs to build, test and run its demo.
# Idempotent: packages already present are left alone; apt-get update runs only when needed.
set -eu
export DEBIAN_FRONTEND=noninteractive

BUILD_PACKAGES="build-essential autoconf automake libtool pkg-config
  libmilter-dev libgnutls28-dev libtasn1-6-dev libtasn1-bin nettle-dev libgmp-dev
  libpkcs11-helper1-dev libldap-dev libcppunit-dev libtomlplusplus-dev liblmdb-dev
  libcurl4-gnutls-dev libsystemd-dev libmicrohttpd-dev libunbound-dev zlib1g-dev
  libidn2-dev libunistring-dev"
TEST_PACKAGES="softhsm2 opensc gnutls-bin openssl postfix gpgsm libnss3-tools
  slapd ldap-utils swaks miltertest python3 procps psmisc iproute2 util-linux bsdutils systemd
  clang libclang-rt-14-dev lld curl nsd ldnsutils
  m4 sendmail-cf
  libdb5.3 libldap-2.5-0 liblockfile1 libnsl2 libsasl2-2 libssl3 libwrap0
  default-jdk-headless libbcmail-java libbcpkix-java libbcprov-java libbcutil-java libmail-java
  golang-go golang-github-fullsailor-pkcs7-dev
  heimdal-clients
  libwolfssl-dev
  python3-cryptography python3-cryptography-vectors python3-pyasn1"
# The JavaScript S/MIME peers (tests/interop/pkijs/) need Node 18 or later: Debian's nodejs and
# npm, unless they are already installed (e.g. nodesource's node, which brings its own npm).
if ! command -v node >/dev/null 2>&1; then TEST_PACKAGES="$TEST_PACKAGES nodejs"; fi
if ! command -v npm >/dev/null 2>&1; then TEST_PACKAGES="$TEST_PACKAGES npm"; fi

missing=""
for p in $BUILD_PACKAGES $TEST_PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done

# The Sendmail binary (sendmail-bin conflicts with postfix, so it is unpacked, not installed:
# scripts/fetch-sendmail.sh; the libraries above are its run-time dependencies).
# A failure is reported, not fatal: only tests/integration/test_sendmail_mta.sh needs it (and
# fails, naming this script, without it).
fetch_sendmail() {
  "$(dirname "$0")/fetch-sendmail.sh" /var/cache/ssm-milter/sendmail \
    || echo "install-deps: warning: the Sendmail binary could not be unpacked (scripts/fetch-sendmail.sh)" >&2
}

# npm_modules: the versions pinned by tests/interop/pkijs/package-lock.json (PKI.js, asn1js,
# node-forge and their dependencies) in a folder of ours outside the source tree, where
# tests/interop/pkijs.sh looks for them. `npm ci` only when the lock file differs from the
# one installed: no network when they are there.
NPM_DIR=${SSM_NPM_DIR:-/var/cache/ssm-milter/npm}
npm_modules() {
  lock=$(dirname "$0")/../tests/interop/pkijs/package-lock.json
  if [ -d "$NPM_DIR/node_modules" ] && cmp -s "$lock" "$NPM_DIR/package-lock.json" \
     && [ -f "$NPM_DIR/node_modules/.ssm-installed" ]; then
    return 0
  fi
  command -v npm >/dev/null 2>&1 || { echo "install-deps: npm is missing (Debian package npm)" >&2; return 1; }
  # Each step checked by hand: set -e does not act inside a function called left of ||.
  mkdir -p "$NPM_DIR" || return 1
  # The marker goes first: a failed npm ci must not leave the new lock file beside the old
  # marker, which the next run would take for a finished install.
  rm -f "$NPM_DIR/node_modules/.ssm-installed" || return 1
  cp "$(dirname "$lock")/package.json" "$lock" "$NPM_DIR/" || return 1
  (cd "$NPM_DIR" && npm ci --no-audit --no-fund --loglevel=error) || return 1
  touch "$NPM_DIR/node_modules/.ssm-installed"
  echo "install-deps: npm modules installed in $NPM_DIR"
}
# Like the Sendmail binary, the modules serve one test (test_interop_pkijs.sh, which fails
# naming them when they are missing): a registry that does not answer must not stop the demo.
npm_modules_or_warn() {
  ( npm_modules ) || echo "install-deps: warning: the npm modules could not be installed in $NPM_DIR" >&2
}

if [ -z "$missing" ]; then
  echo "install-deps: all packages present"
  fetch_sendmail
  npm_modules_or_warn
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages:$missing; run as root or install them" >&2
  exit 1
fi

# Postfix asks debconf questions; answer them so the install never blocks.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
# heimdal-clients (hxtool, an interop peer) pulls in krb5-config, which asks for a realm and
# its servers: none (the tests use no Kerberos); an existing /etc/krb5.conf is kept.
printf '%s\n' "krb5-config krb5-config/default_realm string" "krb5-config krb5-config/add_servers boolean false" \
  "krb5-config krb5-config/read_conf boolean true" | debconf-set-selections

# A fresh machine has no package lists; a stale one may lack a package.
apt-get update -q || true
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
# The Debian packages start system services we do not use (tests run private instances).
for svc in postfix slapd nsd; do
  if command -v systemctl >/dev/null 2>&1; then systemctl stop "$svc" >/dev/null 2>&1 || true; fi
  service "$svc" stop >/dev/null 2>&1 || true
done
# nsd's default instance would answer on port 53 of every address after a reboot; the tests
# run their own (tests/integration/test_smimea.sh) on a free loopback port.
if command -v systemctl >/dev/null 2>&1; then systemctl disable nsd >/dev/null 2>&1 || true; fi
echo "install-deps: installed:$missing"
fetch_sendmail
npm_modules_or_warn
