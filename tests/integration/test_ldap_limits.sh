#!/bin/bash
# The LDAP answer limits of a [[directory.ldap]] entry (max_entries, max_values,
# max_value_bytes; ssm-milter.toml(5)) against a real slapd (tests/fixtures/slapd.sh), through
# `ssmctl cert lookup` (the milter's own lookup and cache). slapd holds dave (one certificate),
# kim (a PKCS#7 bundle of two certificates) and crowd (three entries). Shows:
#   limits-defaults          default limits: every answer whole (crowd's 3 entries under 8),
#                            and cached
#   limits-max-entries       max_entries = 2, same cache: crowd's answer cut, none used (the
#                            whole answer cached under the defaults is not handed out: the
#                            limits are part of the cache key)
#   limits-max-value-bytes   max_value_bytes = 512: dave's certificate (over 512 bytes) left out
#   limits-max-values        max_values = 1: kim's bundle keeps its first certificate, cut
#   limits-cut-log-fields    every ldap_answer_cut line has the same fields: server, address,
#                            certificates, reason
#   limits-config-error      max_entries = 0 and max_value_bytes = "2MiB": ssm-milter -n exits
#                            78 naming file:line:column
#   limits-max-entry-bytes   [directory] max_entry_bytes = "64KiB": big's 70 KiB entry is not
#                            read (cut, none used); under the default 4 MiB it is (its one value
#                            over max_value_bytes left out); "32KiB": ssm-milter -n exits 78
#                            naming file:line:column
#   ldapi-lookup             servers = ldapi:// (slapd's Unix socket in $WORK, path
#                            percent-encoded): ssm-milter -n accepts it and ssmctl cert lookup
#                            finds dave through it
. "$(dirname "$0")/lib.sh"
require_tools openssl slapd slapadd ldapsearch
require_binaries
make_pki
TOKEN=$WORK/no-token  # [hsm] pin_file is named in the configuration but never read here
mkdir -p "$WORK/ldif" "$WORK/certs"

sh "$SLAPD" entry dave@partner.example --cert "$PKI/dave.cert.der" >"$WORK/ldif/dave.ldif" || fatal limits-setup "entry dave"
sh "$SLAPD" p7c "$WORK/kim.p7c" "$PKI/frank.cert.pem" "$PKI/sub-ca.cert.pem" || fatal limits-setup "p7c kim"
sh "$SLAPD" entry kim@partner.example --smime "$WORK/kim.p7c" >"$WORK/ldif/kim.ldif" || fatal limits-setup "entry kim"
head -c 71680 /dev/zero | tr '\0' x >"$WORK/big.bin"
sh "$SLAPD" entry big@partner.example --smime "$WORK/big.bin" >"$WORK/ldif/big.ldif" || fatal limits-setup "entry big"
ldap_crowd limits-setup 3
start_slapd limits-setup --ldapi "$WORK/ldapi" "$WORK/ldif/dave.ldif" "$WORK/ldif/kim.ldif" "$WORK/ldif/big.ldif" \
  "${CROWD[@]}"

# conf FILE [LIMIT-LINES]: one [[directory.ldap]] entry with those limits, cache $WORK/cache.
conf() { write_config "$1" port=1 extra="$(partner_directory 5s "${2:-}")"; }
# lookup NAME CONF ADDRESS: ssmctl cert lookup, stdout and stderr in $WORK/NAME.
lookup() { "$SSM_BUILDDIR/ssmctl" -c "$2" cert lookup "$3" >"$WORK/$1" 2>&1; }
SRC="source=\"ldap:ldap://127.0.0.1:$LDAP_PORT\""
has() { grep -qE -- "$2" "$WORK/$1"; }
why() { tr '\n' ' ' <"$WORK/$1" | cut -c1-600; }

conf "$WORK/defaults.toml" || fatal limits-setup "write_config"
lookup d-crowd "$WORK/defaults.toml" crowd@partner.example
lookup d-dave "$WORK/defaults.toml" dave@partner.example
lookup d-kim "$WORK/defaults.toml" kim@partner.example
# crowd's three entries publish one certificate: returned once.
if has d-crowd "^$SRC cache=miss candidates=1 " && ! has d-crowd "cut=" && has d-dave "^$SRC .*candidates=1" \
   && ! has d-dave "cut=" && has d-kim "^$SRC .*candidates=2" && ! has d-kim "cut="; then
  pass limits-defaults
else fail limits-defaults "$(why d-crowd) | $(why d-dave) | $(why d-kim)"; fi

conf "$WORK/entries.toml" "max_entries = 2" || fatal limits-setup "write_config"
lookup e-crowd "$WORK/entries.toml" crowd@partner.example
if has e-crowd "^$SRC cache=not-stored candidates=0 .*cut=\"more entries match the address than max_entries \(2\)" \
   && has e-crowd "^chosen none"; then
  pass limits-max-entries
else fail limits-max-entries "$(why e-crowd)"; fi

conf "$WORK/bytes.toml" 'max_value_bytes = 512' || fatal limits-setup "write_config"
lookup b-dave "$WORK/bytes.toml" dave@partner.example
if has b-dave "^$SRC .*candidates=0 .*cut=\"1 value\(s\) left out by the limits \(32 values or certificates, 512 bytes each\)\"" \
   && has b-dave "^chosen none"; then
  pass limits-max-value-bytes
else fail limits-max-value-bytes "$(why b-dave)"; fi

conf "$WORK/values.toml" 'max_values = 1' || fatal limits-setup "write_config"
lookup v-kim "$WORK/values.toml" kim@partner.example
if has v-kim "^$SRC .*candidates=1 .*cut=\"1 value\(s\) left out by the limits \(1 values or certificates, 65536 bytes each\)\""; then
  pass limits-max-values
else fail limits-max-values "$(why v-kim)"; fi

# The cut lines of the three lookups above (entries, value bytes, values): one set of fields.
cuts=$(cat "$WORK/e-crowd" "$WORK/b-dave" "$WORK/v-kim" | grep 'ldap_answer_cut ')
fields=$(printf '%s\n' "$cuts" | sed -E 's/"[^"]*"/V/g; s/=[^ ]*//g' | sort -u)
if [ "$(printf '%s\n' "$cuts" | wc -l)" -eq 3 ] \
   && [ "$fields" = "warning: ldap_answer_cut server address certificates reason" ] \
   && printf '%s\n' "$cuts" | grep -q 'address=crowd@partner.example certificates=0 reason=' \
   && printf '%s\n' "$cuts" | grep -q 'address=kim@partner.example certificates=1 reason='; then
  pass limits-cut-log-fields
else fail limits-cut-log-fields "$(printf '%s' "$cuts" | tr '\n' '|')"; fi

ok=1 out=
for bad in 'max_entries = 0' 'max_value_bytes = "2MiB"'; do
  conf "$WORK/bad.toml" "$bad" || fatal limits-setup "write_config"
  line=$(grep -n "^${bad%% *} = " "$WORK/bad.toml" | cut -d: -f1)
  msg=$("$SSM_BUILDDIR/ssm-milter" -n -c "$WORK/bad.toml" 2>&1); rc=$?
  out="$out [$rc] $msg"
  case $msg in
    *"$WORK/bad.toml:$line:"*": ${bad%% *} must be 1"*) [ "$rc" -eq 78 ] || ok=0 ;;
    *) ok=0 ;;
  esac
done
[ "$ok" = 1 ] && pass limits-config-error || fail limits-config-error "$out"

# [directory] max_entry_bytes: the largest entry read (the 4 MiB default before was fixed).
# entry_bytes FILE SIZE: the default configuration with that limit in [directory].
entry_bytes() { conf "$1" && sed -i "s|^negative_ttl = .*|&\nmax_entry_bytes = \"$2\"|" "$1" && grep -q '^max_entry_bytes' "$1"; }
lookup n-big "$WORK/defaults.toml" big@partner.example
entry_bytes "$WORK/entry.toml" 64KiB || fatal limits-setup "write_config"
lookup x-big "$WORK/entry.toml" big@partner.example
entry_bytes "$WORK/bad-entry.toml" 32KiB || fatal limits-setup "write_config"
line=$(grep -n '^max_entry_bytes = ' "$WORK/bad-entry.toml" | cut -d: -f1)
msg=$("$SSM_BUILDDIR/ssm-milter" -n -c "$WORK/bad-entry.toml" 2>&1); rc=$?
if has n-big "cut=\"1 value\(s\) left out by the limits" \
   && has x-big "^$SRC cache=not-stored candidates=0 .*cut=\"an entry larger than 65536 bytes \(max_entry_bytes" \
   && [ "$rc" -eq 78 ] && [[ $msg == *"$WORK/bad-entry.toml:$line:"*": max_entry_bytes must be 64KiB to 256MiB"* ]]; then
  pass limits-max-entry-bytes
else fail limits-max-entry-bytes "$(why n-big) | $(why x-big) | -n: [$rc] $msg"; fi

# slapd on this host through its Unix socket: the configuration check, then a lookup.
LDAPI="ldapi://$(printf '%s' "$WORK/ldapi" | sed 's|/|%2F|g')"
conf "$WORK/ldapi.toml" && sed -i "s|^servers = .*|servers = [\"$LDAPI\"]|" "$WORK/ldapi.toml" \
  && grep -q "^servers = \[\"ldapi://" "$WORK/ldapi.toml" || fatal ldapi-lookup "write_config"
rm -rf "$WORK/cache"
# -n checks the host too: the PIN file it names (never used here) must be there.
mkdir -p "$TOKEN" && printf '1234\n' >"$TOKEN/pin" || fatal ldapi-lookup "pin file"
check=$("$SSM_BUILDDIR/ssm-milter" -n -c "$WORK/ldapi.toml" 2>&1); rc=$?
lookup i-dave "$WORK/ldapi.toml" dave@partner.example
if [ "$rc" -eq 0 ] && has i-dave "^source=\"ldap:$LDAPI\" .*candidates=1" && has i-dave '^chosen '; then
  pass ldapi-lookup
else fail ldapi-lookup "-n: [$rc] $check | $(why i-dave)"; fi
