#!/bin/bash
# Proves the publication proxy of contrib/publication-proxy (PRODUCT §6.1) with real slapd 2.5:
# a "corporate" directory (tests/fixtures/slapd.sh) holding staff entries with private attributes,
# proxy 1 rendered from the contrib template in front of it (bound as the corporate rootdn, so
# every hidden attribute and refused write is the proxy's doing), proxy 2 in front of proxy 1
# (a bridge, with the corporate ou=people as a second member), proxy 3 = proxy 1 with anonymous
# updates allowed (proves "readonly on"). Partners must see only mail, cn, objectClass and the
# certificates, byte-exact, through one proxy or two, and can neither write, bind, harvest
# addresses, nor probe private attributes through filters, extensible matches, compares or the
# assertion control: a search is a lookup of one exact address at the suffix. Each
# configuration layer has a case that fails without it (readonly, rwm-map, the rwm rewrite
# rules, the ACLs, disallow bind_simple, the ;binary mapping, the size limit, omit-unknown-schema).
. "$(dirname "$0")/lib.sh"
require_tools slapd slaptest slapadd ldapsearch ldapadd ldapmodify ldapdelete ldapmodrdn \
  ldapcompare ldapwhoami openssl base64
make_pki
export OPENSSL_CONF=/dev/null
export LDAPNOINIT=1   # no ~/.ldaprc or /etc/ldap/ldap.conf may change what the clients do

FIXTURE=$SSM_SRCDIR/tests/fixtures/slapd.sh
CONTRIB=$SSM_SRCDIR/contrib/publication-proxy
export SLAPD_SUFFIX=dc=acme,dc=example SLAPD_ROOT_PW=corp-admin-secret
CORP_ROOT=cn=admin,$SLAPD_SUFFIX
STAFF=ou=protected,$SLAPD_SUFFIX       # fixture subtree readable only after a bind
PUB=dc=pub,dc=acme,dc=example          # what proxy 1 publishes
BRIDGE=o=acme,o=bridge                 # what proxy 2 publishes (a bridge in front of proxy 1)
MEMBER2=o=other,o=bridge               # the bridge's second member: corporate ou=people
ALLOWED='cn mail objectClass userCertificate;binary userSMIMECertificate'

# --- slapd instances started from a ready slapd.conf (the proxies) ---------------------------
# The fixture writes its own slapd.conf, so the config-file instances are started here.
# conf_slapd_start DIR CONF PORT: slapd in the foreground (-d) as our background child, until
# its root DSE answers; stopped at exit even when the script fails part way.
conf_slapd_start() {
  local dir=$1 conf=$2 port=$3 i pid
  slaptest -f "$conf" -u >"$dir/slaptest.log" 2>&1 || return 1
  slapd -f "$conf" -h "ldap://127.0.0.1:$port/" -d stats </dev/null >"$dir/slapd.log" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/slapd.launch"
  on_exit conf_slapd_stop "$dir"
  for ((i = 0; i < 100; i++)); do
    ldapsearch -x -H "ldap://127.0.0.1:$port/" -o nettimeout=1 -l 1 -s base -b "" -LLL \
      namingContexts </dev/null >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
# conf_slapd_stop DIR: SIGINT to the pid we launched, SIGKILL after 5 s.
conf_slapd_stop() {
  local pid i
  pid=$(cat "$1/slapd.launch" 2>/dev/null) || return 0
  kill -INT "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null || true
}

# --- the corporate directory -----------------------------------------------------------------
corp=$WORK/corp; mkdir -p "$corp" "$WORK/certs"
# person NAME KEY MAIL EMPLOYEENUMBER [smime]: a staff entry with the private attributes the
# proxy must hide (telephone number, title, employee number, password). With POSIX=yes the
# entry is a posixAccount too: the corporate directory loads nis.schema, the proxy does not.
person() {
  local name=$1 key=$2 mail=$3 empno=$4 smime=${5:-}
  cp "$PKI/$key.cert.der" "$WORK/certs/$key.der"
  printf 'dn: cn=%s,%s\nobjectClass: inetOrgPerson\ncn: %s\nsn: %s\nmail: %s\n' \
    "$name" "${PARENT:-$STAFF}" "$name" "${name#* }" "$mail"
  [ "${POSIX:-}" != yes ] \
    || printf 'objectClass: posixAccount\nuid: %s\nuidNumber: %s\ngidNumber: 100\nhomeDirectory: /home/%s\n' \
      "$key" "$empno" "$key"
  printf 'telephoneNumber: +49 30 555 %s\ntitle: Secret Project Lead\nemployeeNumber: %s\n' "$empno" "$empno"
  printf 'userPassword: %s-secret\nuserCertificate;binary:: %s\n' "$key" "$(base64 -w0 "$WORK/certs/$key.der")"
  if [ -n "$smime" ]; then
    sh "$FIXTURE" p7c "$WORK/certs/$key.p7c" "$PKI/$key.cert.pem" || return 1
    printf 'userSMIMECertificate:: %s\n' "$(base64 -w0 "$WORK/certs/$key.p7c")"
  fi
  echo
}
{ person "Alice Example" alice alice@acme.example 4711 smime &&
  person "Bob Example" bob bob@acme.example 4712 smime &&
  POSIX=yes person "Carol Example" carol carol@acme.example 4713 &&
  PARENT=ou=people,$SLAPD_SUFFIX person "Erin Elsewhere" erin erin@acme.example 4714 smime &&
  # A shared mailbox on four entries: the one exact lookup that meets proxy 1's size limit (3).
  for n in 1 2 3 4; do
    printf 'dn: cn=Team %s,%s\nobjectClass: inetOrgPerson\ncn: Team %s\nsn: Team\nmail: team@acme.example\n\n' \
      "$n" "$STAFF" "$n"
  done &&
  # An alias inside the published subtree to erin, who lives outside it.
  printf 'dn: cn=Erin Alias,%s\nobjectClass: alias\nobjectClass: extensibleObject\ncn: Erin Alias\naliasedObjectName: %s\n\n' \
    "$STAFF" "cn=Erin Elsewhere,ou=people,$SLAPD_SUFFIX" &&
  # A referral inside the published subtree, naming an internal server.
  printf 'dn: ou=branch,%s\nobjectClass: referral\nobjectClass: extensibleObject\nou: branch\nref: %s\n\n' \
    "$STAFF" "ldap://internal-dc.corp.acme.example/ou=branch,$SLAPD_SUFFIX"
} >"$WORK/corp.ldif" || fatal proxy-corp-ldif "could not build the corporate LDIF"
corp_port=$(free_port) || fatal proxy-ports "no free port"
on_exit sh "$FIXTURE" stop "$corp"
SLAPD_EXTRA_GLOBAL="include /etc/ldap/schema/nis.schema" sh "$FIXTURE" start "$corp" "$corp_port" "$WORK/corp.ldif" >"$WORK/corp-start.log" 2>&1 \
  || fatal proxy-corp-start "$(tail -n 3 "$WORK/corp-start.log" | tr '\n' ' ')"
CORP=ldap://127.0.0.1:$corp_port/

# --- render.sh refuses what it cannot write safely -------------------------------------------
# Each value would make a slapd.conf that means something else than the administrator wrote:
# a line break or quote breaks out of the quoted value, a carriage return hides in it, a
# placeholder in a value is filled by a later substitution (here: the service password would
# become part of the published suffix), $ and [ have a meaning in the rwm rules the suffix and
# base are written into, and a setting without "=" was taken as its own name.
cr=$(printf '\r')
declare -A BAD_RENDER=(
  [quote]='SUFFIX=dc=pub" rootdn "cn=x'
  [carriage-return]="SERVICE_PASSWORD=pw${cr}x" [placeholder]='SUFFIX=o=@SERVICE_PASSWORD@'
  [dollar]='CORPORATE_BASE=ou=a$1' [bracket]='SUFFIX=o=a[b]' [no-equals]='SUFFIX')
BAD_RENDER[newline]="SUFFIX=dc=pub
rootdn cn=x"
for name in "${!BAD_RENDER[@]}"; do
  sh "$CONTRIB/render.sh" CORPORATE_URI=ldap://127.0.0.1:1/ CORPORATE_BASE=ou=people,dc=acme,dc=example \
    SUFFIX=dc=pub,dc=acme,dc=example SERVICE_DN=cn=reader,dc=acme,dc=example SERVICE_PASSWORD=pw \
    "${BAD_RENDER[$name]}" >"$WORK/bad-render.conf" 2>"$WORK/bad-render.err"
  rc=$?
  if [ $rc -eq 2 ] && [ ! -s "$WORK/bad-render.conf" ] && grep -q '^render.sh: ' "$WORK/bad-render.err"; then
    pass "render-refuses-$name"
  else fail "render-refuses-$name" "exit $rc (want 2, no output): $(head -c 200 "$WORK/bad-render.err" | tr '\n' ' ')"; fi
done

# --- the proxies -----------------------------------------------------------------------------
# render NAME SETTINGS...: $WORK/NAME/slapd.conf from the contrib template.
render() {
  local name=$1; shift
  mkdir -p "$WORK/$name"
  sh "$CONTRIB/render.sh" RUNDIR="$WORK/$name" "$@" >"$WORK/$name/slapd.conf" 2>"$WORK/$name/render.log" \
    || fatal "proxy-$name-render" "$(cat "$WORK/$name/render.log")"
}
# start_proxy NAME PORT: start $WORK/NAME/slapd.conf.
start_proxy() {
  conf_slapd_start "$WORK/$1" "$WORK/$1/slapd.conf" "$2" \
    || fatal "proxy-$1-start" "$(cat "$WORK/$1/slaptest.log" "$WORK/$1/slapd.log" 2>/dev/null | tail -n 3 | tr '\n' ' ')"
}
p1_port=$(free_port) && p2_port=$(free_port) && p3_port=$(free_port) || fatal proxy-ports "no free port"
# Proxy 1 reads the corporate directory as its rootdn: that identity may read and write
# everything, so whatever partners cannot see or change is the proxy's doing.
P1_SETTINGS=(CORPORATE_URI="$CORP" CORPORATE_BASE="$STAFF" SUFFIX="$PUB" SIZELIMIT=3
  SERVICE_DN="$CORP_ROOT" SERVICE_PASSWORD="$SLAPD_ROOT_PW")
render p1 "${P1_SETTINGS[@]}"
start_proxy p1 "$p1_port"
P1=ldap://127.0.0.1:$p1_port/
# Proxy 2, anonymous, is a bridge: it publishes proxy 1 under another suffix and, as a second
# member (a database section appended with SECTION=database), the corporate ou=people subtree.
render p2 CORPORATE_URI="$P1" CORPORATE_BASE="$PUB" SUFFIX="$BRIDGE" SIZELIMIT=50
sh "$CONTRIB/render.sh" SECTION=database CORPORATE_URI="$CORP" CORPORATE_BASE="ou=people,$SLAPD_SUFFIX" \
  SUFFIX="$MEMBER2" >>"$WORK/p2/slapd.conf" 2>"$WORK/p2/render.log" \
  || fatal proxy-p2-render-member2 "$(cat "$WORK/p2/render.log")"
start_proxy p2 "$p2_port"
P2=ldap://127.0.0.1:$p2_port/
# Proxy 3 is proxy 1 weakened by an administrator who allowed anonymous updates: "readonly on"
# of the proxied database must still refuse every write.
render p3 "${P1_SETTINGS[@]}"
sed -i '0,/^database/s//allow update_anon\n&/' "$WORK/p3/slapd.conf"
grep -qx 'allow update_anon' "$WORK/p3/slapd.conf" || fatal proxy-p3-render "the template has no 'database' line"
start_proxy p3 "$p3_port"
P3=ldap://127.0.0.1:$p3_port/

# --- helpers ---------------------------------------------------------------------------------
# search URI BASE FILTER [ATTR...]: anonymous search, LDIF without line wrapping on stdout;
# the exit status is ldapsearch's.
search() {
  local uri=$1 base=$2 filter=$3; shift 3
  ldapsearch -x -H "$uri" -o nettimeout=3 -l 5 -o ldif-wrap=no -LLL -b "$base" "$filter" "$@" </dev/null
}
# Parsing is done with shell builtins: under load every extra process costs ~0.1 s.
# parse_ldif FILE: an unwrapped LDIF (ldif-wrap=no) into LDIF_DNS (the DNs, in order) and
# LDIF_VALUES (attribute description as written -> its values as written, base64 for binary
# ones, one per line). NAMES is set to the sorted attribute descriptions, space-separated.
declare -a LDIF_DNS
declare -A LDIF_VALUES
parse_ldif() {
  local line
  LDIF_DNS=() LDIF_VALUES=()
  while IFS= read -r line; do
    case $line in
      'dn: '*) LDIF_DNS+=("${line#dn: }") ;;
      '' | '#'* | ' '*) ;;
      *:*) LDIF_VALUES[${line%%:*}]+="${line#*: }"$'\n' ;;
    esac
  done <"$1"
  NAMES=
  [ ${#LDIF_VALUES[@]} -eq 0 ] || NAMES=$(printf '%s\n' "${!LDIF_VALUES[@]}" | sort | tr '\n' ' ')
}
# b64 FILE: the file as one line of base64, as ldapsearch writes binary values. Base64 without
# line breaks is canonical, so equal strings mean equal bytes.
declare -A B64
b64() { [ -n "${B64[$1]:-}" ] || B64[$1]=$(base64 -w0 "$1"); printf '%s' "${B64[$1]}"; }
# has_value ATTR FILE: the parsed entry holds exactly one ATTR value, equal to FILE's bytes.
has_value() { [ "${LDIF_VALUES[$1]:-}" = "$(b64 "$2")"$'\n' ]; }

# --- what partners can read ------------------------------------------------------------------
# check_person LABEL URI BASE KEY MAIL SMIME: one entry under BASE with only the allowed
# attributes (even when all user and operational attributes are asked for), the certificate
# bytes identical to the DER / PKCS#7 files loaded into the corporate directory.
check_person() {
  local label=$1 uri=$2 base=$3 key=$4 mail=$5 smime=$6 out=$WORK/$1.ldif extra n
  if ! search "$uri" "$base" "(mail=$mail)" '*' '+' >"$out" 2>&1; then
    fail "$label-search" "ldapsearch: $(tr '\n' ' ' <"$out")"; return
  fi
  parse_ldif "$out"
  n=${#LDIF_DNS[@]}
  if [ "$n" -ne 1 ]; then fail "$label-entry" "expected one entry, got $n"; return; fi
  case ${LDIF_DNS[0]} in
    "cn="*",$base") pass "$label-dn-under-$base" ;;
    *) fail "$label-dn-under-$base" "dn: ${LDIF_DNS[0]}" ;;
  esac
  extra=
  for n in "${!LDIF_VALUES[@]}"; do
    case " $ALLOWED " in *" $n "*) ;; *) extra="$extra $n" ;; esac
  done
  if [ -z "$extra" ]; then pass "$label-only-allowed-attributes"
  else fail "$label-only-allowed-attributes" "also returned:$extra"; fi
  if [ "${LDIF_VALUES[mail]:-}" = "$mail"$'\n' ] && [ -n "${LDIF_VALUES[cn]:-}" ] \
     && [ -n "${LDIF_VALUES[objectClass]:-}" ]; then
    pass "$label-mail-cn-objectClass"
  else fail "$label-mail-cn-objectClass" "mail, cn or objectClass missing (attributes: $NAMES)"; fi
  if has_value 'userCertificate;binary' "$WORK/certs/$key.der"; then pass "$label-userCertificate-bytes"
  else fail "$label-userCertificate-bytes" "not exactly one value equal to $key.cert.der"; fi
  if [ "$smime" = yes ]; then
    if has_value userSMIMECertificate "$WORK/certs/$key.p7c"; then pass "$label-userSMIMECertificate-bytes"
    else fail "$label-userSMIMECertificate-bytes" "not exactly one value equal to $key.p7c"; fi
  elif [ -z "${LDIF_VALUES[userSMIMECertificate]:-}" ]; then pass "$label-no-userSMIMECertificate"
  else fail "$label-no-userSMIMECertificate" "a value for an entry without one"; fi
}
# Sanity: the corporate directory really holds the private attributes (for its rootdn).
ldapsearch -x -H "$CORP" -D "$CORP_ROOT" -w "$SLAPD_ROOT_PW" -LLL -o ldif-wrap=no -b "$STAFF" \
  '(mail=alice@acme.example)' sn telephoneNumber title employeeNumber userPassword </dev/null >"$WORK/corp-alice.ldif" 2>&1
parse_ldif "$WORK/corp-alice.ldif"
if [ "$NAMES" = 'employeeNumber sn telephoneNumber title userPassword ' ]; then
  pass corp-has-private-attributes
else fail corp-has-private-attributes "the corporate entry lacks the attributes this test hides"; fi

declare -A URI=([p1]=$P1 [p2]=$P2) BASE=([p1]=$PUB [p2]=$BRIDGE)
for p in p1 p2; do
  check_person "$p-alice" "${URI[$p]}" "${BASE[$p]}" alice alice@acme.example yes
  check_person "$p-bob" "${URI[$p]}" "${BASE[$p]}" bob bob@acme.example yes
  check_person "$p-carol" "${URI[$p]}" "${BASE[$p]}" carol carol@acme.example no
  # A certificate client asks for the certificate attributes only, with or without ;binary.
  for want in 'userCertificate;binary' userCertificate; do
    out=$WORK/$p-want-${want%;*}.ldif
    search "${URI[$p]}" "${BASE[$p]}" '(mail=bob@acme.example)' "$want" userSMIMECertificate >"$out" 2>&1
    parse_ldif "$out"
    if has_value 'userCertificate;binary' "$WORK/certs/bob.der" && has_value userSMIMECertificate "$WORK/certs/bob.p7c"; then
      pass "$p-request-$want"
    else fail "$p-request-$want" "bob's certificates not returned byte-exact"; fi
  done
done

# Schema the proxy does not know: carol is a posixAccount too in the corporate directory
# (nis.schema). "omit-unknown-schema yes" drops that object class from what partners get (rwm
# keeps every objectClass value, and the ACLs allow objectClass): the entry itself still comes.
ldapsearch -x -H "$CORP" -D "$CORP_ROOT" -w "$SLAPD_ROOT_PW" -LLL -o ldif-wrap=no -b "$STAFF" \
  '(mail=carol@acme.example)' objectClass uidNumber </dev/null >"$WORK/corp-carol.ldif" 2>&1
if grep -qx 'objectClass: posixAccount' "$WORK/corp-carol.ldif" && grep -qx 'uidNumber: 4713' "$WORK/corp-carol.ldif"; then
  pass corp-has-unknown-schema
else fail corp-has-unknown-schema "carol is no posixAccount in the corporate directory: $(tr '\n' ' ' <"$WORK/corp-carol.ldif")"; fi
for p in p1 p2; do
  out=$WORK/$p-carol-schema.ldif
  search "${URI[$p]}" "${BASE[$p]}" '(mail=carol@acme.example)' objectClass uidNumber gidNumber homeDirectory >"$out" 2>&1
  parse_ldif "$out"
  if [ ${#LDIF_DNS[@]} -ne 1 ]; then fail "$p-unknown-schema-omitted" "${#LDIF_DNS[@]} entries for carol (want 1)"
  elif [ "$NAMES" != 'objectClass ' ] || [ "${LDIF_VALUES[objectClass]}" != $'inetOrgPerson\n' ]; then
    fail "$p-unknown-schema-omitted" "attributes: $NAMES objectClass: $(tr '\n' ' ' <<<"${LDIF_VALUES[objectClass]:-}")"
  else pass "$p-unknown-schema-omitted"; fi
done

# The bridge's second member serves erin (corporate ou=people) under its own suffix.
check_person p2-member2-erin "$P2" "$MEMBER2" erin erin@acme.example yes

# --- what partners must not see --------------------------------------------------------------
# refused NAME URI BASE FILTER [LDAPSEARCH-OPTION...]: the search is refused (unwillingToPerform,
# exit 53) and returns no entry.
refused() {
  local name=$1 uri=$2 base=$3 filter=$4 out=$WORK/refused.ldif rc; shift 4
  ldapsearch -x -H "$uri" -o nettimeout=3 -l 5 -o ldif-wrap=no -LLL -b "$base" "$@" "$filter" 1.1 \
    </dev/null >"$out" 2>&1
  rc=$?
  parse_ldif "$out"
  if [ $rc -eq 53 ] && [ ${#LDIF_DNS[@]} -eq 0 ]; then pass "$name-refused"
  else fail "$name-refused" "ldapsearch exit $rc (want 53) with ${#LDIF_DNS[@]} entries: ${LDIF_DNS[*]}"; fi
}
# same_answer NAME FILTER_TRUE FILTER_WRONG: a guess of a hidden value must not change the
# answer. On the corporate directory (as its rootdn) the two filters must give different
# answers, else the pair proves nothing; through each proxy the answers must be identical.
same_answer() {
  local name=$1 right=$2 wrong=$3 a b p
  a=$(ldapsearch -x -H "$CORP" -D "$CORP_ROOT" -w "$SLAPD_ROOT_PW" -LLL -b "$STAFF" "$right" 1.1 </dev/null 2>&1)
  b=$(ldapsearch -x -H "$CORP" -D "$CORP_ROOT" -w "$SLAPD_ROOT_PW" -LLL -b "$STAFF" "$wrong" 1.1 </dev/null 2>&1)
  if [ "$a" = "$b" ]; then fail "corp-oracle-$name" "the corporate directory answers both guesses alike"; return; fi
  for p in p1 p2; do
    a=$(search "${URI[$p]}" "${BASE[$p]}" "$right" 1.1 2>&1)
    b=$(search "${URI[$p]}" "${BASE[$p]}" "$wrong" 1.1 2>&1)
    if [ "$a" = "$b" ]; then pass "$p-no-oracle-$name"
    else fail "$p-no-oracle-$name" "right guess: $(tr '\n' ' ' <<<"$a") / wrong guess: $(tr '\n' ' ' <<<"$b")"; fi
  done
}
same_answer employeeNumber '(&(mail=alice@acme.example)(employeeNumber=4711))' '(&(mail=alice@acme.example)(employeeNumber=4712))'
same_answer not-employeeNumber '(&(mail=alice@acme.example)(!(employeeNumber=4711)))' '(&(mail=alice@acme.example)(!(employeeNumber=4712)))'
same_answer telephoneNumber-substring '(&(mail=alice@acme.example)(telephoneNumber=+49 30*))' '(&(mail=alice@acme.example)(telephoneNumber=+33*))'
same_answer userPassword '(&(mail=alice@acme.example)(userPassword=alice-secret))' '(&(mail=alice@acme.example)(userPassword=guess))'
same_answer or-title '(|(mail=nobody@acme.example)(title=Secret*))' '(|(mail=nobody@acme.example)(title=Public*))'
# An extensible match without an attribute tests every attribute of the entry, the hidden ones
# too, and rwm does not map it: telephone number and password were readable this way.
same_answer extensible-telephoneNumber '(&(mail=alice@acme.example)(:caseExactMatch:=+49 30 555 4711))' \
  '(&(mail=alice@acme.example)(:caseExactMatch:=+49 30 555 4712))'
same_answer extensible-userPassword '(&(mail=alice@acme.example)(:octetStringMatch:=alice-secret))' \
  '(&(mail=alice@acme.example)(:octetStringMatch:=guess))'
for p in p1 p2; do
  refused "$p-extensible-no-attribute" "${URI[$p]}" "${BASE[$p]}" '(:caseExactMatch:=Secret Project Lead)'
  refused "$p-extensible-dn" "${URI[$p]}" "${BASE[$p]}" '(:dn:caseExactMatch:=protected)'
done
# The bridge's second member reads the corporate ou=people anonymously, where erin's telephone
# number is readable: only the bridge's own rules stand between it and a partner.
refused p2-member2-extensible "$P2" "$MEMBER2" '(&(mail=erin@acme.example)(:caseExactMatch:=+49 30 555 4714))'

# The assertion control (RFC 4528) carries a filter the corporate directory evaluates on the
# search base; back-ldap forwards it unmapped, like every client control. On a person's entry
# it was an oracle for any hidden attribute; a search base below the suffix is refused now.
# corp_assert ASSERTION: the exit status of a search at alice's corporate entry (as its rootdn).
corp_assert() {
  ldapsearch -x -H "$CORP" -D "$CORP_ROOT" -w "$SLAPD_ROOT_PW" -o nettimeout=3 -l 5 -LLL -s base \
    -b "cn=Alice Example,$STAFF" -e "assert=$1" '(objectClass=*)' 1.1 </dev/null >/dev/null 2>&1
}
corp_assert '(telephoneNumber=+49*)'; a=$?
corp_assert '(telephoneNumber=+33*)'; b=$?
if [ $a -eq 0 ] && [ $b -eq 122 ]; then pass corp-assertion-control-oracle
else fail corp-assertion-control-oracle "corporate directory: exit $a for the right guess, $b for the wrong one (want 0, 122)"; fi
for p in p1 p2; do
  for guess in '+49*' '+33*'; do
    refused "$p-assertion-telephoneNumber=$guess" "${URI[$p]}" "cn=Alice Example,${BASE[$p]}" \
      '(mail=alice@acme.example)' -s base -e "assert=(telephoneNumber=$guess)"
  done
  # A base below the suffix is refused whether the entry exists or not: no DN guessing.
  refused "$p-base-existing-entry" "${URI[$p]}" "cn=Alice Example,${BASE[$p]}" '(mail=alice@acme.example)'
  refused "$p-base-missing-entry" "${URI[$p]}" "cn=Nobody Here,${BASE[$p]}" '(mail=alice@acme.example)'
done

FORBIDDEN='sn telephoneNumber title employeeNumber userPassword'
for p in p1 p2; do
  # Asked for by name (with some operational ones): the entry comes back without them.
  out=$WORK/$p-forbidden.ldif
  search "${URI[$p]}" "${BASE[$p]}" '(mail=alice@acme.example)' $FORBIDDEN creatorsName modifiersName \
    entryUUID entryCSN structuralObjectClass >"$out" 2>&1
  parse_ldif "$out"
  if [ ${#LDIF_DNS[@]} -eq 1 ] && [ -z "$NAMES" ]; then pass "$p-forbidden-attributes-requested"
  else fail "$p-forbidden-attributes-requested" "${#LDIF_DNS[@]} entries, attributes: $NAMES"; fi
  # Filters on hidden attributes are refused, alone or next to an exact address.
  for f in '(telephoneNumber=*)' '(userPassword=*)' '(employeeNumber=*)' '(title=Secret*)' '(sn=Example)' \
    '(&(mail=alice@acme.example)(title=Secret*))'; do
    refused "$p-filter-$f" "${URI[$p]}" "${BASE[$p]}" "$f"
  done
  # Compare would be an oracle too: never compareTrue (ldapcompare exit 6) nor compareFalse (5).
  for ava in 'userPassword:alice-secret' 'title:Secret Project Lead'; do
    ldapcompare -x -H "${URI[$p]}" -o nettimeout=3 "cn=Alice Example,${BASE[$p]}" "$ava" </dev/null >"$WORK/cmp.out" 2>&1
    rc=$?
    if [ $rc -ne 6 ] && [ $rc -ne 5 ]; then pass "$p-compare-${ava%%:*}-refused"
    else fail "$p-compare-${ava%%:*}-refused" "ldapcompare exit $rc: $(tr '\n' ' ' <"$WORK/cmp.out")"; fi
  done
  # A lookup never needs a compare, so even one on a published attribute is refused (53): a
  # compare would test a guessed DN's existence and address without any search rule.
  ldapcompare -x -H "${URI[$p]}" -o nettimeout=3 "cn=Alice Example,${BASE[$p]}" 'mail:alice@acme.example' \
    </dev/null >"$WORK/cmp.out" 2>&1
  rc=$?
  if [ $rc -eq 53 ]; then pass "$p-compare-mail-refused"
  else fail "$p-compare-mail-refused" "ldapcompare exit $rc (want 53): $(tr '\n' ' ' <"$WORK/cmp.out")"; fi
done
# Sanity for the compare check: the corporate directory answers compareTrue to its rootdn.
ldapcompare -x -H "$CORP" -D "$CORP_ROOT" -w "$SLAPD_ROOT_PW" "cn=Alice Example,$STAFF" 'title:Secret Project Lead' \
  </dev/null >/dev/null 2>&1
if [ $? -eq 6 ]; then pass corp-compare-title-true; else fail corp-compare-title-true "no compareTrue from the corporate directory"; fi

# Only the configured subtree is published: erin lives in ou=people, outside CORPORATE_BASE.
if search "$CORP" "$SLAPD_SUFFIX" '(mail=erin@acme.example)' 1.1 2>/dev/null | grep -q '^dn: '; then
  pass corp-has-erin
else fail corp-has-erin "erin is missing from the corporate directory"; fi
for p in p1 p2; do
  out=$WORK/$p-erin.ldif
  search "${URI[$p]}" "${BASE[$p]}" '(mail=erin@acme.example)' >"$out" 2>&1
  parse_ldif "$out"
  if [ ${#LDIF_DNS[@]} -eq 0 ]; then pass "$p-outside-subtree-invisible"
  else fail "$p-outside-subtree-invisible" "${LDIF_DNS[*]}"; fi
done

# Dereferencing an alias: back-ldap passes the partner's deref setting on, and the corporate
# directory answers with erin's entry outside the subtree; the proxy's ACLs (no access outside
# the suffix, whose DN the entry does not have) drop it.
if ldapsearch -x -H "$CORP" -D "$CORP_ROOT" -w "$SLAPD_ROOT_PW" -LLL -a always -b "$STAFF" '(mail=erin@acme.example)' 1.1 \
  </dev/null 2>/dev/null | grep -q '^dn: cn=Erin Elsewhere,ou=people,'; then
  pass corp-alias-dereferenced
else fail corp-alias-dereferenced "the corporate directory does not find erin through the alias"; fi
for p in p1 p2; do
  out=$WORK/$p-alias.ldif
  ldapsearch -x -H "${URI[$p]}" -o nettimeout=3 -l 5 -LLL -a always -b "${BASE[$p]}" '(mail=erin@acme.example)' 1.1 \
    </dev/null >"$out" 2>&1
  parse_ldif "$out"
  if [ ${#LDIF_DNS[@]} -eq 0 ]; then pass "$p-alias-outside-subtree-invisible"
  else fail "$p-alias-outside-subtree-invisible" "${LDIF_DNS[*]}"; fi
done

# Search references: the corporate directory names its internal server in every search of the
# subtree; "norefs yes" keeps that from partners (and "chase-referrals no" keeps the proxy home).
if ldapsearch -x -H "$CORP" -D "$CORP_ROOT" -w "$SLAPD_ROOT_PW" -LL -b "$STAFF" '(mail=alice@acme.example)' 1.1 \
  </dev/null 2>/dev/null | grep -q 'internal-dc\.corp'; then
  pass corp-search-reference
else fail corp-search-reference "the corporate directory returns no reference to internal-dc"; fi
for p in p1 p2; do
  out=$WORK/$p-reference.ldif
  ldapsearch -x -H "${URI[$p]}" -o nettimeout=3 -l 5 -LL -b "${BASE[$p]}" '(mail=alice@acme.example)' 1.1 \
    </dev/null >"$out" 2>&1
  rc=$?
  if [ $rc -eq 0 ] && grep -q '^dn: cn=Alice Example,' "$out" && ! grep -qi '^# ref\|internal-dc' "$out"; then
    pass "$p-no-search-reference"
  else fail "$p-no-search-reference" "exit $rc: $(tr '\n' ' ' <"$out")"; fi
done

# Binds are refused: they would make the proxy a password oracle for internal accounts.
if ldapwhoami -x -H "$CORP" -D "cn=Alice Example,$STAFF" -w alice-secret </dev/null >/dev/null 2>&1; then
  pass corp-bind-alice
else fail corp-bind-alice "alice cannot bind to the corporate directory with alice-secret"; fi
for p in p1 p2; do
  ldapwhoami -x -H "${URI[$p]}" -D "cn=Alice Example,${BASE[$p]}" -w alice-secret </dev/null >"$WORK/bind.out" 2>&1
  rc=$?
  if [ $rc -eq 53 ]; then pass "$p-bind-refused"
  else fail "$p-bind-refused" "ldapwhoami exit $rc (want 53 unwillingToPerform): $(tr '\n' ' ' <"$WORK/bind.out")"; fi
done

# Harvesting: only a lookup of one exact address answers. Wildcards, presence, ORs and the
# exclusion trick (ask again without the addresses seen, SIZELIMIT entries at a time) are
# refused, through each proxy.
for p in p1 p2; do
  for f in '(objectClass=*)' '(mail=*)' '(mail=a*)' '(cn=*Example)' '(mail~=alice)' \
    '(|(mail=alice@acme.example)(mail=bob@acme.example))' \
    '(&(mail=*)(!(|(mail=alice@acme.example)(mail=bob@acme.example))))' \
    '(&(objectClass=inetOrgPerson)(!(mail=alice@acme.example)))'; do
    refused "$p-harvest-$f" "${URI[$p]}" "${BASE[$p]}" "$f"
  done
  # What clients send still answers: an AND of simple terms around one exact address.
  out=$WORK/$p-and.ldif
  search "${URI[$p]}" "${BASE[$p]}" '(&(objectClass=inetOrgPerson)(mail=bob@acme.example))' 1.1 >"$out" 2>&1
  parse_ldif "$out"
  if [ ${#LDIF_DNS[@]} -eq 1 ]; then pass "$p-and-with-exact-mail-answers"
  else fail "$p-and-with-exact-mail-answers" "${#LDIF_DNS[@]} entries: $(tr '\n' ' ' <"$out")"; fi
done
# The size limit still bounds one lookup (proxy 1: SIZELIMIT=3, the shared mailbox has 4 entries).
search "$P1" "$PUB" '(mail=team@acme.example)' 1.1 >"$WORK/team.ldif" 2>&1
rc=$?
parse_ldif "$WORK/team.ldif"
if [ $rc -eq 4 ] && [ ${#LDIF_DNS[@]} -le 3 ]; then pass p1-sizelimit
else fail p1-sizelimit "ldapsearch exit $rc with ${#LDIF_DNS[@]} entries (want 4 sizeLimitExceeded, <= 3)"; fi

# ssm-milter's own lookups through each proxy (ssmctl cert lookup: its filter "(mail=%s)" and
# its attribute list): a person's certificate, an address with an extension (none of its own:
# its mailbox's), and an EAI address (nobody has it: "none", not an unavailable directory).
TOKEN=${TOKEN:-$WORK/no-token}  # write_config names a token; a lookup never opens it
mkdir -p "$TOKEN"
for p in p1 p2; do
  write_config "$WORK/ssm-$p.toml" port=1 extra="[directory]
cache = \"$WORK/cache-$p\"

[[directory.ldap]]
domains = [\"acme.example\"]
servers = [\"${URI[$p]%/}\"]
base = \"${BASE[$p]}\"" || fatal "$p-ssmctl-config" "write_config"
  src="source=\"ldap:${URI[$p]%/}\""
  for a in alice@acme.example alice+lists@acme.example jörg@acme.example; do
    "$SSM_BUILDDIR/ssmctl" -c "$WORK/ssm-$p.toml" cert lookup "$a" >"$WORK/$p-lookup-${a%%@*}" 2>&1
  done
  if grep -q "^chosen subject=\"CN=alice@acme.example,.*$src\$" "$WORK/$p-lookup-alice"; then pass "$p-ssmctl-lookup"
  else fail "$p-ssmctl-lookup" "$(tr '\n' ' ' <"$WORK/$p-lookup-alice" | cut -c1-400)"; fi
  if grep -q "^chosen subject=\"CN=alice@acme.example,.*$src found_under=\"alice@acme.example\"" "$WORK/$p-lookup-alice+lists"; then
    pass "$p-ssmctl-lookup-extension"
  else fail "$p-ssmctl-lookup-extension" "$(tr '\n' ' ' <"$WORK/$p-lookup-alice+lists" | cut -c1-400)"; fi
  if grep -q "^$src cache=miss candidates=0" "$WORK/$p-lookup-jörg" && grep -q '^chosen none reason="no source holds' "$WORK/$p-lookup-jörg"; then
    pass "$p-ssmctl-lookup-eai"
  else fail "$p-ssmctl-lookup-eai" "$(tr '\n' ' ' <"$WORK/$p-lookup-jörg" | cut -c1-400)"; fi
done

# Spellings of a forbidden filter: slapd hands rwm the filter with the attribute in its
# canonical name and the value escaped, so neither case, the OID, options, extensible or
# ordering matches on mail, nor an OR, NOT or AND nested in the AND gets past the two rules.
for p in p1 p2; do
  for f in '(MAIL=a*)' '(Mail=*)' '(0.9.2342.19200300.100.1.3=a*)' '(mail;lang-en=alice@acme.example)' \
    '(mail;binary=alice@acme.example)' '(mail:caseExactMatch:=alice@acme.example)' '(mail>=a)' '(mail<=z)' \
    '(mail~=alice@acme.example)' '(mail=\00)' '(&(mail=alice@acme.example)(|(cn=a*)(cn=b*)))' \
    '(&(mail=alice@acme.example)(!(cn=x)))' '(&(&(mail=alice@acme.example))(mail=*))' \
    '(&(mail=alice@acme.example)(modifyTimestamp>=19700101000000Z))' \
    '(&(mail=alice@acme.example)(hasSubordinates=FALSE))' "(&(mail=alice@acme.example)(creatorsName=$CORP_ROOT))" \
    "(&(mail=alice@acme.example)(entryDN=cn=Alice Example,$STAFF))"; do
    refused "$p-spelling-$f" "${URI[$p]}" "${BASE[$p]}" "$f"
  done
  # answers NAME BASE FILTER WANT [OPTION...]: the search succeeds with WANT entries.
  answers() {
    local name=$1 b=$2 f=$3 want=$4 out=$WORK/answers.ldif rc; shift 4
    ldapsearch -x -H "${URI[$p]}" -o nettimeout=3 -l 5 -o ldif-wrap=no -LLL -b "$b" "$@" "$f" 1.1 </dev/null >"$out" 2>&1
    rc=$?
    parse_ldif "$out"
    if [ $rc -eq 0 ] && [ ${#LDIF_DNS[@]} -eq "$want" ]; then pass "$p-answers-$name"
    else fail "$p-answers-$name" "ldapsearch exit $rc (want 0) with ${#LDIF_DNS[@]} entries (want $want): $(tr '\n' ' ' <"$out" | head -c 200)"; fi
  }
  # An escaped star is a literal one: an exact lookup of the address "*", which no one has.
  answers escaped-star "${BASE[$p]}" '(mail=\2a)' 0
  answers escaped-star-domain "${BASE[$p]}" '(mail=\2a@acme.example)' 0
  # Other spellings of one exact lookup still find the one entry.
  answers attribute-case "${BASE[$p]}" '(MAIL=alice@acme.example)' 1
  answers attribute-oid "${BASE[$p]}" '(0.9.2342.19200300.100.1.3=alice@acme.example)' 1
  answers escaped-letter "${BASE[$p]}" '(mail=\61lice@acme.example)' 1
  answers base-upper-case "$(tr a-z A-Z <<<"${BASE[$p]}")" '(mail=alice@acme.example)' 1
  answers base-spaces "${BASE[$p]//,/, }" '(mail=alice@acme.example)' 1
  answers scope-one "${BASE[$p]}" '(mail=alice@acme.example)' 1 -s one
  answers scope-base "${BASE[$p]}" '(mail=alice@acme.example)' 0 -s base
  # What ssm-milter's default filter ("(mail=%s)") sends for an address with an extension and
  # for an EAI address (raw UTF-8, and escaped): answered (nobody has them here), not refused.
  answers extension "${BASE[$p]}" '(mail=alice+lists@acme.example)' 0
  answers eai-utf8 "${BASE[$p]}" '(mail=jörg@acme.example)' 0
  answers eai-escaped "${BASE[$p]}" '(mail=j\c3\b6rg@acme.example)' 0
  # A 20,000-character address neither crashes nor wedges the proxy.
  answers long-address "${BASE[$p]}" "(mail=$(head -c 20000 /dev/zero | tr '\0' a)@acme.example)" 0
  answers after-long-address "${BASE[$p]}" '(mail=alice@acme.example)' 1
done

# --- writes are refused ----------------------------------------------------------------------
# write_refused NAME WANT_RC WANT_TEXT TOOL URI ARGS... < LDIF: the tool fails with WANT_RC and
# a diagnostic containing WANT_TEXT.
write_refused() {
  local name=$1 want=$2 text=$3 tool=$4 uri=$5 rc; shift 5
  "$tool" -x -H "$uri" -o nettimeout=3 "$@" >"$WORK/write.out" 2>&1
  rc=$?
  if [ $rc -eq "$want" ] && grep -qF "$text" "$WORK/write.out"; then pass "$name"
  else fail "$name" "$tool exit $rc (want $want, '$text'): $(tr '\n' ' ' <"$WORK/write.out")"; fi
}
# try_writes PREFIX URI BASE WANT_RC WANT_TEXT: add, modify, delete and modrdn, all refused.
try_writes() {
  local px=$1 uri=$2 b=$3 want=$4 text=$5
  write_refused "$px-add-refused" "$want" "$text" ldapadd "$uri" <<EOF
dn: cn=Mallory Intruder,$b
objectClass: inetOrgPerson
cn: Mallory Intruder
sn: Intruder
mail: alice@acme.example
EOF
  write_refused "$px-modify-refused" "$want" "$text" ldapmodify "$uri" <<EOF
dn: cn=Alice Example,$b
changetype: modify
replace: mail
mail: mallory@evil.example
EOF
  write_refused "$px-delete-refused" "$want" "$text" ldapdelete "$uri" "cn=Carol Example,$b" </dev/null
  write_refused "$px-modrdn-refused" "$want" "$text" ldapmodrdn "$uri" -r "cn=Bob Example,$b" "cn=Bob Renamed" </dev/null
}
# The shipped configuration: partners are anonymous, and anonymous updates are refused by slapd's
# frontend (strongerAuthRequired) before they reach the database.
try_writes p1 "$P1" "$PUB" 8 'modifications require authentication'
try_writes p2 "$P2" "$BRIDGE" 8 'modifications require authentication'
# With anonymous updates allowed (proxy 3) the read-only database refuses them (unwillingToPerform).
try_writes p3-update-anon "$P3" "$PUB" 53 'operation restricted'
# The corporate directory is unchanged.
out=$WORK/corp-after.ldif
ldapsearch -x -H "$CORP" -D "$CORP_ROOT" -w "$SLAPD_ROOT_PW" -LLL -o ldif-wrap=no -b "$STAFF" -s one \
  '(objectClass=*)' mail </dev/null >"$out" 2>&1
others="dn: cn=Erin Alias,$STAFF dn: cn=Team 1,$STAFF dn: cn=Team 2,$STAFF dn: cn=Team 3,$STAFF dn: cn=Team 4,$STAFF "
if [ "$(grep '^dn: ' "$out" | sort | tr '\n' ' ')" = "dn: cn=Alice Example,$STAFF dn: cn=Bob Example,$STAFF dn: cn=Carol Example,$STAFF $others" ] \
   && grep -qx 'mail: alice@acme.example' "$out" && ! grep -q 'evil.example' "$out"; then
  pass corp-unchanged-after-writes
else fail corp-unchanged-after-writes "$(grep -E '^(dn|mail):' "$out" | tr '\n' ' ')"; fi
