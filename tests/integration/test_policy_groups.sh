#!/bin/bash
# LDAP group conditions through the daemon (issue 5): a real slapd holds the group
# cn=board,ou=groups,dc=acme,dc=example with alice as a member; the rule "board mail is signed
# by the domain" (from_group) must decide for alice and not for carol, in `ssmctl policy test`
# and through Postfix + ssm-milter ([directory.groups] wired into the message processor).
# With slapd stopped a group rule answers 451 4.7.1 (never silently skipped).
# alice+news@ (an address extension, [policy] recipient_delimiter "+") is in alice's groups:
# slapd is asked about the full address, then about alice@ (ssmctl policy test; through the
# milter both rules would sign alice+news@'s mail by the domain, as she has no key of her own).
# [directory.groups] search_references: -n accepts "ignore" and refuses "follow" at its
# file:line; with user_base at ou=ad (a referral entry below it, as under an Active Directory
# domain root) dana, in no group, is 451 under "fail" and a non-member under "ignore".
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
require_tools postfix smtp-sink swaks openssl slapd ldapsearch softhsm2-util pkcs11-tool script
require_binaries
make_pki
make_token
export SLAPD_SUFFIX=dc=acme,dc=example
{
  sh "$SLAPD" entry alice@acme.example
  echo
  sh "$SLAPD" entry carol@acme.example
  printf '\ndn: ou=groups,%s\nobjectClass: organizationalUnit\nou: groups\n' "$SLAPD_SUFFIX"
  printf '\ndn: cn=board,ou=groups,%s\nobjectClass: groupOfNames\ncn: board\nmember: cn=alice@acme.example,ou=people,%s\n' \
    "$SLAPD_SUFFIX" "$SLAPD_SUFFIX"
  # ou=ad: like an Active Directory domain root, part of it referred to another server (a
  # referral entry: every subtree search meets a continuation reference); dana is in no group.
  printf '\ndn: ou=ad,%s\nobjectClass: organizationalUnit\nou: ad\n' "$SLAPD_SUFFIX"
  printf '\ndn: ou=zones,ou=ad,%s\nobjectClass: referral\nobjectClass: extensibleObject\nou: zones\nref: ldap://127.0.0.1:1/ou=zones,ou=ad,%s\n\n' \
    "$SLAPD_SUFFIX" "$SLAPD_SUFFIX"
  sh "$SLAPD" entry dana@acme.example --ou ad
} >"$WORK/people.ldif"
start_slapd groups-setup "$WORK/people.ldif"

RULES='[[rule]]
name = "board mail is signed by the domain"
direction = "outbound"
from_group = ["board"]
sign = "domain"

[[rule]]
name = "others sign themselves"
direction = "outbound"
sign = "sender"'
start_sink || fatal groups-setup "smtp-sink did not start"
SMTPD_PORT=$(free_port); MILTER_PORT=$(free_port)
write_config "$WORK/ssm.toml" port="$MILTER_PORT" rules="$RULES" extra="[directory.groups]
servers = [\"ldap://127.0.0.1:$LDAP_PORT\"]
user_base = \"ou=people,$SLAPD_SUFFIX\"
group_base = \"ou=groups,$SLAPD_SUFFIX\"
timeout = \"2s\"
cache_ttl = \"0s\""
"$SSM_BUILDDIR/ssm-milter" -n -c "$WORK/ssm.toml" >"$WORK/check.log" 2>&1 \
  && ! grep -qi 'not yet in force' "$WORK/check.log" && pass groups-config-in-force \
  || fail groups-config-in-force "$(tr '\n' ' ' <"$WORK/check.log")"

# search_references: "fail" (the default) or "ignore"; ssm-milter -n refuses anything else at
# its file:line (an Active Directory administrator's typo must not pass as one of the two).
sed 's|^cache_ttl = "0s"$|&\nsearch_references = "ignore"|' "$WORK/ssm.toml" >"$WORK/ignore.toml"
sed 's|^cache_ttl = "0s"$|&\nsearch_references = "follow"|' "$WORK/ssm.toml" >"$WORK/follow.toml"
line=$(grep -n '^search_references = ' "$WORK/follow.toml" | cut -d: -f1)
"$SSM_BUILDDIR/ssm-milter" -n -c "$WORK/ignore.toml" >"$WORK/ignore.log" 2>&1; ignore_rc=$?
msg=$("$SSM_BUILDDIR/ssm-milter" -n -c "$WORK/follow.toml" 2>&1); rc=$?
if [ "$ignore_rc" -eq 0 ] && [ -n "$line" ] && [ "$rc" -eq 78 ] \
   && [[ $msg == *"$WORK/follow.toml:$line:"*'search_references must be "fail" or "ignore"'* ]]; then
  pass groups-search-references-config
else fail groups-search-references-config "ignore: [$ignore_rc] $(tr '\n' ' ' <"$WORK/ignore.log") | follow: [$rc] $msg"; fi

# ssmctl policy test names the deciding rule
policy_rule() {
  "$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm.toml" policy test --direction out --from "$1" --to someone@elsewhere.example 2>&1
}
out=$(policy_rule alice@acme.example)
printf '%s\n' "$out" | grep -q 'board mail is signed by the domain' && pass groups-ssmctl-member \
  || fail groups-ssmctl-member "$(printf '%s' "$out" | tr '\n' ' ' | cut -c1-300)"
out=$(policy_rule alice+news@acme.example)
printf '%s\n' "$out" | grep -q 'board mail is signed by the domain' && pass groups-ssmctl-member-extension \
  || fail groups-ssmctl-member-extension "$(printf '%s' "$out" | tr '\n' ' ' | cut -c1-300)"
out=$(policy_rule carol@acme.example)
printf '%s\n' "$out" | grep -q 'others sign themselves' && pass groups-ssmctl-non-member \
  || fail groups-ssmctl-non-member "$(printf '%s' "$out" | tr '\n' ' ' | cut -c1-300)"

# user_base at the referring ou=ad: "not a member" beside the reference is no answer under
# search_references "fail" (451), and the answer of this server under "ignore".
for mode in fail ignore; do
  sed -e "s|^user_base = .*|user_base = \"ou=ad,$SLAPD_SUFFIX\"|" \
      -e "s|^cache_ttl = \"0s\"\$|&\\nsearch_references = \"$mode\"|" "$WORK/ssm.toml" >"$WORK/ad-$mode.toml"
done
fail_out=$("$SSM_BUILDDIR/ssmctl" -c "$WORK/ad-fail.toml" policy test --direction out --from dana@acme.example --to someone@elsewhere.example 2>&1)
ignore_out=$("$SSM_BUILDDIR/ssmctl" -c "$WORK/ad-ignore.toml" policy test --direction out --from dana@acme.example --to someone@elsewhere.example 2>&1)
if printf '%s\n' "$fail_out" | grep -q '451' && printf '%s\n' "$fail_out" | grep -q 'reference' \
   && printf '%s\n' "$ignore_out" | grep -q 'others sign themselves'; then
  pass groups-search-references-ad-root
else fail groups-search-references-ad-root "fail: $(printf '%s' "$fail_out" | tr '\n' ' ' | cut -c1-300) | ignore: $(printf '%s' "$ignore_out" | tr '\n' ' ' | cut -c1-300)"; fi

# through Postfix: the member's mail is signed by the domain identity, the other's by herself
start_milter "$WORK/ssm.toml" || fatal groups-setup "ssm-milter did not start"
start_postfix pf "$SMTPD_PORT" "$SINK_PORT" "$MILTER_PORT" || fatal groups-setup "Postfix did not start"
# through SENDER SIGNER NAME
through() {
  rm -f "$SINK_DIR"/*
  printf 'From: <%s>\r\nTo: <someone@elsewhere.example>\r\nSubject: %s\r\n\r\ngroup test\r\n' "$1" "$3" >"$WORK/$3.eml"
  if ! send_mail "$SMTPD_PORT" "$1" someone@elsewhere.example "$WORK/$3.eml"; then
    fail "$3" "SMTP: $SMTP_REPLY"; return
  fi
  wait_for_delivery 1 30 || { fail "$3" "not delivered"; return; }
  sink_message "$(sink_files | head -n 1)" "$WORK/$3.out"
  if verify_openssl "$WORK/$3.out" "$2"; then pass "$3"; else fail "$3" "$PEER_DETAIL"; fi
}
through alice@acme.example domain-signing-authority@acme.example groups-milter-member-signed-by-domain
through carol@acme.example carol@acme.example groups-milter-non-member-signed-by-sender

# the group directory down: 451 4.7.1, not a silent fall-through to the next rule
sh "$SLAPD" stop "$WORK/slapd"
printf 'From: <alice@acme.example>\r\nTo: <someone@elsewhere.example>\r\nSubject: down\r\n\r\ndown\r\n' >"$WORK/down.eml"
send_mail "$SMTPD_PORT" alice@acme.example someone@elsewhere.example "$WORK/down.eml"
case $SMTP_REPLY in
  451*4.7.1*) pass groups-directory-down-451 ;;
  *) fail groups-directory-down-451 "reply '$SMTP_REPLY'" ;;
esac
exit $((_ssm_failures > 0))
