#!/bin/bash
# Mail lists whose members come from a directory group (PRODUCT §4.3, [[mail_list]]
# members_group): a real slapd holds cn=team (groupOfNames: alice, an entry without mail, a DN
# that names no entry, and the nested group cn=subteam holding carol and, in a loop, team
# again) and cn=board (groupOfUniqueNames: dave, with a UID
# suffix). Behind a real Postfix, a message that dave signed and encrypted to the list key with
# `openssl cms` is delivered once to every group member (and board's configured member),
# re-encrypted so that each member's own key opens it, under the list's signature carrying the
# mlExpansionHistory; a group of entries without mail leaves nobody (550 5.7.1). `ssmctl list
# members` shows where each member comes from, and refuses groups nested too deep. bob, added
# to the group with ldapmodify, is a member once cache_ttl has passed. With slapd stopped, a
# message relayed by a first Postfix gets 451 4.7.1 there and stays queued; after slapd is
# back and the queue is flushed (again, until the 10 seconds a failed server is not asked have
# passed) it is delivered to the members.
# Quoted local parts (cn=dots): a..b@acme.example (stored bare, as a directory stores it) and
# "a\\b"@acme.example (a backslash, which only the quoted spelling can hold; its entry written
# by `slapd.sh entry`, whose LDIF once lost one backslash under dash's echo). `ssmctl list
# members` gives both from the group, and a to_group rule finds "a..b"@acme.example (searched
# for as a..b@, EmailAddress::directory_form) and "a\\b"@acme.example as members of dots.
. "$(dirname "$0")/lib.sh"
. "$SSM_SRCDIR/tests/interop/peers.sh"
require_tools postfix smtp-sink swaks openssl perl slapd slapadd ldapsearch ldapmodify softhsm2-util \
  pkcs11-tool script
require_binaries
make_pki
make_token alice carol
export OPENSSL_CONF=/dev/null SLAPD_SUFFIX=dc=acme,dc=example
TTL=3
mkdir -p "$WORK/certs"

# The list's certificate and key, on the token as make-token.sh puts them.
issue_cert team team@acme.example rsa "digitalSignature, keyEncipherment" || fatal lg-setup "issue team"
import_to_token team 20 --usage-sign --usage-decrypt
# The members' certificates (bob's is P-256: ECDH for him).
for n in alice bob carol dave; do cp "$PKI/$n.cert.pem" "$WORK/certs/"; done

# --- the directory ----------------------------------------------------------------------------
P=ou=people,$SLAPD_SUFFIX G=ou=groups,$SLAPD_SUFFIX
BACKSLASH='"a\\b"@acme.example'  # RFC 5321 spelling: the backslash as a quoted-pair
{
  for a in alice@acme.example carol@acme.example bob@acme.example dave@partner.example a..b@acme.example \
           "$BACKSLASH"; do
    sh "$SLAPD" entry "$a"; echo
  done
  printf 'dn: cn=nomail,%s\nobjectClass: inetOrgPerson\ncn: nomail\nsn: nomail\n\n' "$P"
  printf 'dn: %s\nobjectClass: organizationalUnit\nou: groups\n\n' "$G"
  printf 'dn: cn=team,%s\nobjectClass: groupOfNames\ncn: team\n' "$G"
  for m in alice@acme.example nomail gone; do printf 'member: cn=%s,%s\n' "$m" "$P"; done
  # carol is in a group nested in team, which lists team again (a loop).
  printf 'member: cn=subteam,%s\n\ndn: cn=subteam,%s\nobjectClass: groupOfUniqueNames\ncn: subteam\n' "$G" "$G"
  printf 'uniqueMember: cn=carol@acme.example,%s\nuniqueMember: cn=team,%s\n' "$P" "$G"
  # deep0 > deep1 > ... > deep9 > alice: nested one level more than an expansion follows.
  for i in 0 1 2 3 4 5 6 7 8 9; do
    printf '\ndn: cn=deep%s,%s\nobjectClass: groupOfNames\ncn: deep%s\n' "$i" "$G" "$i"
    if [ $i -lt 9 ]; then printf 'member: cn=deep%s,%s\n' $((i + 1)) "$G"; else printf 'member: cn=alice@acme.example,%s\n' "$P"; fi
  done
  printf '\ndn: cn=board,%s\nobjectClass: groupOfUniqueNames\ncn: board\n' "$G"
  printf "uniqueMember: cn=dave@partner.example,%s#'0101'B\n" "$P"
  printf '\ndn: cn=ghosts,%s\nobjectClass: groupOfNames\ncn: ghosts\nmember: cn=nomail,%s\nmember: cn=gone,%s\n' "$G" "$P" "$P"
  # The member DNs as RFC 4514 writes those cn values (" and \ escaped).
  printf '\ndn: cn=dots,%s\nobjectClass: groupOfNames\ncn: dots\nmember: cn=a..b@acme.example,%s\n' "$G" "$P"
  printf 'member: cn=%s,%s\n' '\"a\\\\b\"@acme.example' "$P"
} >"$WORK/people.ldif"
start_slapd lg-setup "$WORK/people.ldif"

GROUPS_TOML="[directory.groups]
servers = [\"ldap://127.0.0.1:$LDAP_PORT\"]
user_base = \"$P\"
group_base = \"$G\"
timeout = \"2s\"
cache_ttl = \"${TTL}s\""
LISTS="[[mail_list]]
address = \"team@acme.example\"
members_group = \"team\"

[[mail_list]]
address = \"board@acme.example\"
identity = \"team@acme.example\"
members = [\"alice@acme.example\"]
members_group = \"cn=board,$G\"

[[mail_list]]
address = \"ghosts@acme.example\"
identity = \"team@acme.example\"
members_group = \"ghosts\"

[[mail_list]]
address = \"deep@acme.example\"
identity = \"team@acme.example\"
members_group = \"deep0\"

[[mail_list]]
address = \"dots@acme.example\"
identity = \"team@acme.example\"
members_group = \"dots\""
config() {  # config FILE GROUPS-TOML LISTS-TOML
  write_config "$1" port="${MILTER_PORT:-1}" pki='revocation = "off"' extra="[directory]
cache = \"$WORK/cache\"
static_certificates = \"$WORK/certs\"

$2

$3" || fatal lg-setup "config $1"
}
MILTER_PORT=$(free_port)
config "$WORK/ssm.toml" "$GROUPS_TOML" "$LISTS"
"$SSM_BUILDDIR/ssm-milter" -n -c "$WORK/ssm.toml" >"$WORK/check.log" 2>&1 \
  && pass lg-config-checks || fail lg-config-checks "$(tr '\n' ' ' <"$WORK/check.log")"
# members_group needs [directory.groups]: the error names the key's place in the file.
config "$WORK/bad.toml" "" "$LISTS"
if "$SSM_BUILDDIR/ssm-milter" -n -c "$WORK/bad.toml" >"$WORK/bad.log" 2>&1; then
  fail lg-config-needs-group-directory "accepted"
elif grep -q "bad.toml:[0-9]*:[0-9]*: members_group needs a \[directory.groups\]" "$WORK/bad.log"; then
  pass lg-config-needs-group-directory
else
  fail lg-config-needs-group-directory "$(tr '\n' ' ' <"$WORK/bad.log")"
fi

# --- ssmctl list members --------------------------------------------------------------------
members() { "$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm.toml" list members "$1" >"$WORK/members.out" 2>"$WORK/members.err"; }
members team@acme.example; rc=$?
if [ $rc -eq 0 ] && grep -qx 'member list=team@acme.example address=alice@acme.example from=group group=team' "$WORK/members.out" &&
   grep -qx 'member list=team@acme.example address=carol@acme.example from=group group=team' "$WORK/members.out" &&
   grep -q '^total list=team@acme.example members=2 from_group=2 group_without_mail=2 group_found=yes$' "$WORK/members.out"; then
  pass lg-ssmctl-members-from-group
else
  fail lg-ssmctl-members-from-group "rc=$rc $(tr '\n' ' ' <"$WORK/members.out") $(tail -n 2 "$WORK/members.err" | tr '\n' ' ')"
fi
members board@acme.example; rc=$?
if [ $rc -eq 0 ] && grep -qx 'member list=board@acme.example address=alice@acme.example from=config' "$WORK/members.out" &&
   grep -qx "member list=board@acme.example address=dave@partner.example from=group group=cn=board,$G" "$WORK/members.out" &&
   [ "$(grep -c '^member ' "$WORK/members.out")" -eq 2 ]; then
  pass lg-ssmctl-members-config-and-unique-member
else
  fail lg-ssmctl-members-config-and-unique-member "rc=$rc $(tr '\n' ' ' <"$WORK/members.out")"
fi

members ghosts@acme.example; rc=$?
[ $rc -eq 1 ] && grep -q '^total list=ghosts@acme.example members=0 from_group=0 group_without_mail=2 group_found=yes$' "$WORK/members.out" \
  && pass lg-ssmctl-no-member || fail lg-ssmctl-no-member "rc=$rc $(tr '\n' ' ' <"$WORK/members.out")"
members deep@acme.example; rc=$?
[ $rc -eq 1 ] && grep -q '^total list=deep@acme.example members=0 .* too_deep=yes max_depth=8$' "$WORK/members.out" \
  && grep -q 'group-nesting-too-deep group=deep0' "$WORK/members.err" \
  && pass lg-ssmctl-nesting-too-deep || fail lg-ssmctl-nesting-too-deep "rc=$rc $(tr '\n' ' ' <"$WORK/members.out")"

# Quoted local parts: the members as their entries' mail values say (slapd.sh wrote them
# byte for byte; a value with quotes was once skipped as no mail), printed as log fields are
# (quotes and backslashes as \xNN: a raw '"' or space would break the key=value line), and a
# to_group rule that finds both spellings in the group.
members dots@acme.example; rc=$?
if [ $rc -eq 0 ] && grep -qx 'member list=dots@acme.example address=a..b@acme.example from=group group=dots' "$WORK/members.out" &&
   grep -qxF 'member list=dots@acme.example address=\x22a\x5c\x5cb\x22@acme.example from=group group=dots' "$WORK/members.out" &&
   [ "$(grep -c '^member ' "$WORK/members.out")" -eq 2 ]; then
  pass lg-ssmctl-members-quoted-local-parts
else
  fail lg-ssmctl-members-quoted-local-parts "rc=$rc $(tr '\n' ' ' <"$WORK/members.out")"
fi
write_config "$WORK/dots.toml" port=1 pki='revocation = "off"' rules='[[rule]]
name = "mail to dots is signed by the sender"
direction = "outbound"
to_group = ["dots"]
sign = "sender"

[[rule]]
name = "other mail is signed by the sender"
direction = "outbound"
sign = "sender"' extra="$GROUPS_TOML" || fatal lg-setup "config dots.toml"
for c in "dotted:\"a..b\"@acme.example" "backslash:$BACKSLASH"; do
  out=$("$SSM_BUILDDIR/ssmctl" -c "$WORK/dots.toml" policy test --direction out --from alice@acme.example --to "${c#*:}" 2>&1)
  if grep -q 'mail to dots is signed by the sender' <<<"$out"; then pass "lg-to-group-quoted-${c%%:*}"
  else fail "lg-to-group-quoted-${c%%:*}" "$(tr '\n' ' ' <<<"$out" | cut -c1-400)"; fi
done

# --- through Postfix ----------------------------------------------------------------------------
printf 'Content-Type: text/plain\r\n\r\nMinutes of the group meeting, 1 December.\r\n' >"$WORK/content.txt"
openssl cms -sign -nodetach -in "$WORK/content.txt" -signer "$PKI/dave.cert.pem" -inkey "$PKI/dave.key.pem" \
  -certfile "$PKI/sub-ca.cert.pem" -outform SMIME -out "$WORK/signed.part" || fatal lg-setup "openssl sign"
make_input() {  # make_input FILE LIST: dave's signed message encrypted to the list key
  { printf 'From: dave@partner.example\r\nTo: %s\r\nSubject: group list\r\nMessage-ID: <lg-%s@partner.example>\r\n' "$2" "$RANDOM"
    openssl cms -encrypt -aes256 -in "$WORK/signed.part" -outform SMIME "$XPKI/team.cert.pem" | sed 's/\r\?$/\r/'
  } >"$1"
}
start_sink || fatal lg-setup "smtp-sink did not start"
PF2_PORT=$(free_port); PF1_PORT=$(free_port)
start_milter "$WORK/ssm.toml" || fatal lg-setup "ssm-milter did not start"
start_postfix pf2 "$PF2_PORT" "$SINK_PORT" "$MILTER_PORT" || fatal lg-setup "Postfix pf2 did not start"
PF2=$PF_DIR
# pf1 retries only when told (postqueue -f), so the retry below is the flush's.
start_postfix pf1 "$PF1_PORT" "$PF2_PORT" "" "queue_run_delay = 300s" "minimal_backoff_time = 300s" \
  "maximal_backoff_time = 4000s" || fatal lg-setup "Postfix pf1 did not start"
PF1=$PF_DIR

# delivered CASE NAME...: the one message in the sink went to exactly NAME@... (the members),
# its outer signature is the list's with an mlExpansionHistory, and each member's key opens
# it to dave's signed text.
delivered() {
  local cn=$1 f got want n; shift
  f=$(sink_files | head -n 1)
  sink_message "$f" "$WORK/$cn.out"
  got=$(sink_rcpts "$f" | sed 's/^<\([^>]*\)>.*/\1/' | sort | tr '\n' ' ')
  want=$(for n in "$@"; do [ "$n" = dave ] && echo dave@partner.example || echo "$n@acme.example"; done | sort | tr '\n' ' ')
  [ "$(sink_count)" -eq 1 ] && [ "$got" = "$want" ] && pass "$cn-recipients" \
    || fail "$cn-recipients" "sink $(sink_count) message(s) to '$got', expected '$want'"
  if verify_openssl "$WORK/$cn.out" &&
     openssl x509 -in "$(dirname "$SIGNED_CMS")/signer2.pem" -noout -ext subjectAltName | grep -q 'email:team@acme.example' &&
     OPENSSL_CONF=/dev/null openssl cms -cmsout -print -inform DER -in "$SIGNED_CMS" 2>/dev/null | grep -q 'mlExpandHistory'; then
    pass "$cn-list-signature-history"
  else
    fail "$cn-list-signature-history" "${PEER_DETAIL:-no mlExpandHistory in the list signature}"; return
  fi
  smime_envelope "$VERIFIED_CONTENT" "$WORK/$cn.der" || { fail "$cn-envelope" "$PEER_DETAIL"; return; }
  for n in "$@"; do
    PEER_DETAIL="dave's signed text is missing"
    if decrypt_openssl "$WORK/$cn.der" "$n" "$WORK/$cn-$n.eml" &&
       openssl cms -verify -in "$WORK/$cn-$n.eml" -inform SMIME -CAfile "$PKI/root-ca.cert.pem" 2>/dev/null |
         grep -q 'Minutes of the group meeting'; then
      pass "$cn-$n-decrypts"
    else
      fail "$cn-$n-decrypts" "$PEER_DETAIL"
    fi
  done
}
# expand CASE LIST NAME...: sent straight to pf2 (the milter's Postfix), then delivered.
expand() {
  local cn=$1 list=$2; shift 2
  rm -f "$SINK_DIR"/*
  make_input "$WORK/$cn.eml" "$list" || { fail "$cn-recipients" "openssl encrypt"; return; }
  send_mail "$PF2_PORT" dave@partner.example "$list" "$WORK/$cn.eml" || { fail "$cn-recipients" "SMTP: $SMTP_REPLY"; return; }
  wait_for_delivery 1 30 || { fail "$cn-recipients" "not delivered"; return; }
  delivered "$cn" "$@"
}
expand lg-group-of-names team@acme.example alice carol
grep -q 'action=expand.*list=team@acme.example members=2 skipped=0 history=1 encrypted=yes group_members=2 group_without_mail=2' \
  "$WORK/milter.log" && pass lg-logged-member-count \
  || fail lg-logged-member-count "$(grep 'list=team' "$WORK/milter.log" | tail -n 1 | cut -c1-300)"
expand lg-group-of-unique-names board@acme.example alice dave
# A group of entries without mail leaves nobody: refused like a list with nobody left (the
# milter's own pipeline, offline).
make_input "$WORK/ghosts.eml" ghosts@acme.example
"$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm.toml" process --direction in --from dave@partner.example --to ghosts@acme.example \
  <"$WORK/ghosts.eml" >/dev/null 2>"$WORK/ghosts.err"; rc=$?
[ $rc -eq 1 ] && grep -q '^reply: 550 5.7.1 mail list ghosts@acme.example: no member left' "$WORK/ghosts.err" \
  && pass lg-no-member-left-refused || fail lg-no-member-left-refused "rc=$rc $(grep -E 'reply|error' "$WORK/ghosts.err" | tr '\n' ' ' | cut -c1-300)"

# bob joins the group; once cache_ttl has passed, he is a member.
printf 'dn: cn=team,%s\nchangetype: modify\nadd: member\nmember: cn=bob@acme.example,%s\n' "$G" "$P" >"$WORK/bob.ldif"
ldapmodify -x -H "ldap://127.0.0.1:$LDAP_PORT/" -D "cn=admin,$SLAPD_SUFFIX" -w admin-secret -f "$WORK/bob.ldif" \
  >"$WORK/ldapmodify.log" 2>&1 || fatal lg-setup "ldapmodify: $(tr '\n' ' ' <"$WORK/ldapmodify.log")"
sleep $((TTL + 1))
expand lg-member-added team@acme.example alice bob carol

# --- the directory down: 451 4.7.1 to pf1, which keeps the message until the flush ----------
sh "$SLAPD" stop "$WORK/slapd"
members team@acme.example; rc=$?
[ $rc -eq 2 ] && pass lg-ssmctl-directory-down || fail lg-ssmctl-directory-down "rc=$rc $(tr '\n' ' ' <"$WORK/members.err")"
sleep $((TTL + 1))  # the milter's cached expansion of team has expired
rm -f "$SINK_DIR"/*
make_input "$WORK/outage.eml" team@acme.example
send_mail "$PF1_PORT" dave@partner.example team@acme.example "$WORK/outage.eml" \
  || fatal lg-outage "pf1 refused: $SMTP_REPLY"
deadline=$((SECONDS + 30))
until grep -q 'status=deferred.*451 4.7.1' "$PF1/maillog" 2>/dev/null || [ $SECONDS -ge $deadline ]; do sleep 0.3; done
if grep -q 'status=deferred.*451 4.7.1' "$PF1/maillog"; then
  pass lg-outage-451-deferred
else
  fail lg-outage-451-deferred "$(grep -E 'status=|milter' "$PF1/maillog" "$PF2/maillog" | tail -n 3 | tr '\n' ' ')"
fi
[ "$(pf_queue_count "$PF1")" -ge 1 ] && [ "$(sink_count)" -eq 0 ] && pass lg-outage-queued \
  || fail lg-outage-queued "pf1 queue $(pf_queue_count "$PF1"), sink $(sink_count)"
sh "$SLAPD" start "$WORK/slapd" "$LDAP_PORT" >"$WORK/slapd-restart.log" 2>&1 \
  || fatal lg-outage "slapd did not restart: $(tail -n 5 "$WORK/slapd-restart.log" | tr '\n' ' ')"
# The milter does not ask a directory server that failed within the last 10 seconds
# (retry_after: while every server is marked down a question fails at once), so a flush right
# after the restart may meet one more 451: flush until the message is delivered.
deadline=$((SECONDS + 60))
until [ $SECONDS -ge $deadline ]; do
  pf_flush "$PF1"
  wait_for_delivery 1 3 && break
done
if [ "$(sink_count)" -ge 1 ]; then
  delivered lg-outage-retry alice bob carol
else
  fail lg-outage-retry-recipients "not delivered after the flush (pf1 queue $(pf_queue_count "$PF1"))"
fi
[ "$(pf_queue_count "$PF1")" -eq 0 ] && pass lg-outage-queue-empty || fail lg-outage-queue-empty "pf1 still holds $(pf_queue_count "$PF1")"
stop_milter
exit $((_ssm_failures > 0))
