// The configuration key table (PRODUCT §8.1 is the contract for names).
#include "milter/config_table.h"

#include <array>

namespace ssm::milter {

namespace {

using K = KeyType;

// clang-format off
constexpr std::array kKeys = {
    KeySpec{"milter", "socket", K::String, "\"unix:/run/ssm-milter/milter.sock\"", false, false,
            "Where the milter listens: unix:PATH (or local:PATH), inet:PORT@ADDRESS or inet6:PORT@ADDRESS "
            "(PORT a number or a service name from /etc/services; ADDRESS an address or a host name)."},
    KeySpec{"milter", "user", K::String, "\"ssm-milter\"", false, false,
            "User to run as after start-up when started as root."},
    KeySpec{"milter", "authserv_id", K::String, "", false, true,
            "authserv-id for Authentication-Results; default: the host name."},
    KeySpec{"milter", "internal_networks", K::StringArray, "[\"127.0.0.0/8\", \"::1/128\"]", false, true,
            "Client networks whose mail is outbound."},
    KeySpec{"milter", "originating_daemons", K::StringArray, "[\"ORIGINATING\"]", false, true,
            "MTA daemon names ({daemon_name}) whose mail is outbound."},
    KeySpec{"milter", "spool_dir", K::String, "\"/var/spool/ssm-milter\"", false, true,
            "Folder for private temporary files of messages larger than memory_spool_limit."},
    KeySpec{"milter", "memory_spool_limit", K::Size, "\"1MiB\"", false, true,
            "Message bytes kept in memory before spooling to a temporary file."},
    KeySpec{"milter", "max_message_size", K::Size, "\"100MiB\"", false, true,
            "Larger messages are rejected with 552 5.3.4."},
    KeySpec{"milter", "max_header_field_size", K::Size, "\"64KiB\"", false, true,
            "Longest accepted header field; longer ones are rejected with 552 5.3.4."},
    KeySpec{"milter", "max_mime_depth", K::Integer, "32", false, true,
            "Deepest accepted MIME nesting."},
    KeySpec{"milter", "log_level", K::String, "\"info\"", false, true,
            "debug, info, notice, warning or error."},

    KeySpec{"signing", "format", K::String, "\"detached\"", false, true,
            "detached (multipart/signed) or opaque (application/pkcs7-mime signed-data)."},
    KeySpec{"signing", "digest", K::String, "\"sha256\"", false, true,
            "sha256, sha384 or sha512 (Ed25519 keys always sign with sha512, RFC 8419; an id-RSASSA-PSS key with parameters with their hash, RFC 4055)."},
    KeySpec{"signing", "rsa_scheme", K::String, "\"pkcs1\"", false, true,
            "Signature scheme for RSA keys: pkcs1 (RSASSA-PKCS1-v1_5) or pss (RSASSA-PSS); an id-RSASSA-PSS key always signs pss (RFC 4055)."},
    KeySpec{"signing", "include_chain", K::Boolean, "true", false, true,
            "Attach the signer's certificate chain up to, not including, the root."},

    KeySpec{"encryption", "cipher", K::String, "\"auto\"", false, true,
            "auto (the best cipher every recipient advertised, RFC 8551 2.7.1; see Algorithms), "
            "aes256-gcm, aes128-gcm, aes256-cbc, aes128-cbc or chacha20-poly1305 (RFC 8103)."},
    KeySpec{"encryption", "key_transport", K::String, "\"auto\"", false, true,
            "RSA key transport: auto (RSA-OAEP when the recipient advertises it, else PKCS#1 v1.5), "
            "pkcs1 or oaep."},
    KeySpec{"encryption", "recipient_identifier", K::String, "\"issuer-serial\"", false, true,
            "How each RecipientInfo names the recipient's certificate: issuer-serial "
            "(issuerAndSerialNumber) or key-id (its subjectKeyIdentifier: KTRI version 2, KARI "
            "rKeyId; RFC 5652 6.2), which some receivers need (wolfSSL for ECDH). A certificate "
            "without a subjectKeyIdentifier extension is named by issuer-serial all the same "
            "(logged as rid_fallback). Also for the archive certificate, and for a mail list's "
            "members whose rules name none."},
    KeySpec{"encryption", "header_protection", K::Boolean, "true", false, true,
            "Copy the header fields into the encrypted part (RFC 9788)."},
    KeySpec{"encryption", "obscure_subject", K::Boolean, "true", false, true,
            "Replace the outer Subject of encrypted mail by \"[...]\" (needs header_protection)."},
    KeySpec{"encryption", "archive_certificate", K::String, "", false, true,
            "PEM certificate of the organisation archive, added as a recipient of every "
            "encrypted message."},
    KeySpec{"encryption", "blind_copies", K::String, "\"separate\"", false, true,
            "Envelope recipients no To, Cc, Resent-To or Resent-Cc field names (Bcc): separate (each "
            "whose certificate the named recipients' encryption lacks gets a copy of its own through "
            "[reinjection]; without it such a message is refused 550 5.7.1) or together (one message "
            "whose RecipientInfos show them to every recipient)."},

    KeySpec{"inbound", "strip_signature", K::Boolean, "false", false, true,
            "Remove the S/MIME signature layer of verified inbound mail (for clients that cannot "
            "show S/MIME); the result stays in Authentication-Results."},
    KeySpec{"inbound", "restore_protected_headers", K::Boolean, "true", false, true,
            "After decryption, put the protected Subject (RFC 9788) back in place of \"[...]\" and add "
            "the protected fields the outer header lacks (never Authentication-Results, X-SSM-*, SIO-Label "
            "or trace fields)."},
    KeySpec{"inbound", "nested_encrypted", K::String, "\"keep\"", false, true,
            "An encrypted part among unencrypted parts (EFAIL): keep it encrypted, or reject "
            "the message. Any application/pkcs7-mime part counts (signed-data and compressed-data "
            "may hold an encryption) except a certs-only one (a certificate sent as an attachment)."},
    KeySpec{"inbound", "on_undecryptable", K::String, "\"hold\"", false, true,
            "A message encrypted to one of our keys that cannot be decrypted, or whose decrypted "
            "content cannot be processed: accept it and have the MTA hold it (\"hold\"), deliver "
            "it as received, still encrypted, with an X-SSM-Undecryptable field (\"deliver\"), or "
            "refuse it with 554 5.7.5 (\"reject\": a padding oracle for CBC content)."},
    KeySpec{"inbound", "harvest", K::Boolean, "true", false, true,
            "Store the certificates of valid signers for encrypting replies (PRODUCT §3.4)."},
    KeySpec{"inbound", "decompress", K::Boolean, "true", false, true,
            "Inflate compressed-data layers (RFC 3274), which few mail clients can open; a "
            "signature over compressed content is taken off for it (its result stays in "
            "Authentication-Results). Decrypted content whose compressed layer is not inflated "
            "(switched off, or it does not inflate) is not delivered: the signatures and labels "
            "inside were never seen, so it takes the on_undecryptable way."},

    KeySpec{"outbound", "from_must_match_sender", K::Boolean, "false", false, true,
            "Before outbound mail is signed, its From header must name the envelope sender (with "
            "several From mailboxes, its Sender header must); otherwise 550 5.7.1. A null envelope "
            "sender is never refused and never signed with a person's or the From domain's key."},

    KeySpec{"hsm", "module", K::String, "\"/usr/lib/softhsm/libsofthsm2.so\"", false, false,
            "PKCS#11 module (provider) path."},
    KeySpec{"hsm", "token_label", K::String, "", false, false,
            "Label of the token holding the gateway's keys."},
    KeySpec{"hsm", "token_serial", K::String, "", false, false,
            "Serial number of the token (instead of, or with, token_label)."},
    KeySpec{"hsm", "pin_file", K::String, "\"/etc/ssm-milter/token.pin\"", false, false,
            "File holding the user PIN (never logged)."},
    KeySpec{"hsm", "pin_credential", K::String, "", false, false,
            "Name of a systemd credential holding the PIN (LoadCredential=NAME:FILE in the unit), "
            "read from $CREDENTIALS_DIRECTORY instead of pin_file."},
    KeySpec{"hsm", "sessions", K::Integer, "4", false, false,
            "PKCS#11 sessions for parallel key operations."},

    KeySpec{"hsm.token[]", "module", K::String, "\"/usr/lib/softhsm/libsofthsm2.so\"", false, false,
            "PKCS#11 module (provider) of a further token; another module or the same one."},
    KeySpec{"hsm.token[]", "token_label", K::String, "", false, false,
            "Label of a further token whose keys the gateway uses beside those of [hsm]."},
    KeySpec{"hsm.token[]", "token_serial", K::String, "", false, false,
            "Serial number of that token (instead of, or with, token_label)."},
    KeySpec{"hsm.token[]", "pin_file", K::String, "", false, false,
            "File holding that token's user PIN (never logged); pin_file or pin_credential is needed."},
    KeySpec{"hsm.token[]", "pin_credential", K::String, "", false, false,
            "Name of a systemd credential holding that token's PIN, instead of pin_file."},
    KeySpec{"hsm.token[]", "sessions", K::Integer, "4", false, false,
            "PKCS#11 sessions for that token's parallel key operations."},

    KeySpec{"pki", "trust_anchors", K::String, "\"/etc/ssm-milter/trust\"", false, true,
            "Folder of PEM trust anchors (root certificates)."},
    KeySpec{"pki", "intermediates", K::String, "\"/etc/ssm-milter/intermediates\"", false, true,
            "Folder of PEM CA and cross-certificates."},
    KeySpec{"pki", "crls", K::String, "\"/etc/ssm-milter/crls\"", false, true,
            "Folder of CRL files."},
    KeySpec{"pki", "revocation", K::String, "\"soft-fail\"", false, true,
            "hard-fail (no current answer: temperror), soft-fail (only a revoked answer fails) or off."},
    KeySpec{"pki", "ocsp", K::Boolean, "true", false, true,
            "Ask the OCSP responder named in a certificate's authorityInfoAccess (cached until "
            "nextUpdate)."},
    KeySpec{"pki", "crl_distribution_points", K::Boolean, "true", false, true,
            "Fetch CRLs from a certificate's HTTP distribution points (cached until nextUpdate)."},
    KeySpec{"pki", "fetch_timeout", K::Duration, "\"5s\"", false, true,
            "Longest wait for one OCSP or CRL answer (1s to 120s)."},
    KeySpec{"pki", "max_crl_size", K::Size, "\"4MiB\"", false, true,
            "Largest CRL read, from the crls folder or a distribution point, and largest OCSP "
            "answer (64KiB to 256MiB)."},
    KeySpec{"pki", "revocation_time_budget", K::Duration, "\"20s\"", false, true,
            "Longest time a message (one SMTP transaction, all its RCPTs) may spend on OCSP and CRL "
            "fetches altogether (1s to 600s); "
            "checks left when it is spent are undecided (soft-fail or hard-fail)."},
    KeySpec{"pki", "unscoped_anchors", K::String, "\"any-domain\"", false, true,
            "What a trust anchor no [[pki.anchor]] names vouches for: any-domain or none."},
    KeySpec{"pki.anchor[]", "certificate", K::String, "", true, true,
            "The trust anchor: a file name in trust_anchors or a SHA-256 fingerprint."},
    KeySpec{"pki.anchor[]", "domains", K::StringArray, "", true, true,
            "The mail domains it vouches for: \"example.com\" (that domain), \".example.com\" (below it)."},

    KeySpec{"directory", "cache", K::String, "\"/var/lib/ssm-milter/cache\"", false, false,
            "LMDB folder of the certificate cache and of harvested certificates."},
    KeySpec{"directory", "static_certificates", K::String, "\"/etc/ssm-milter/certs\"", false, true,
            "Folder of correspondents' PEM certificates."},
    KeySpec{"directory", "source_order", K::StringArray, "", false, true,
            "The order the certificate sources are asked in: static, imported, ldap, harvested, "
            "smimea (the default order); sources not named follow in that order."},
    KeySpec{"directory", "positive_ttl", K::Duration, "\"1d\"", false, true,
            "How long a directory answer with certificates is used before the directory is asked "
            "again."},
    KeySpec{"directory", "negative_ttl", K::Duration, "\"1h\"", false, true,
            "How long a directory answer without certificates is used before the directory is "
            "asked again."},
    KeySpec{"directory", "stale_limit", K::Duration, "\"7d\"", false, true,
            "Stale-if-error: while a directory cannot be reached, a cached answer with "
            "certificates that expired less than this long ago is still used (and a warning "
            "logged); \"0s\" turns this off."},
    KeySpec{"directory", "max_entry_bytes", K::Size, "\"4MiB\"", false, true,
            "Largest directory entry (one LDAP message) read from any LDAP server (64KiB to 256MiB): "
            "a larger one is not read, its connection is closed."},

    KeySpec{"directory.ldap[]", "domains", K::StringArray, "", true, true,
            "Recipient domains this directory serves (subdomains are not included)."},
    KeySpec{"directory.ldap[]", "servers", K::StringArray, "", true, true,
            "LDAP URIs (ldap://, ldaps:// or ldapi://), tried in order (failover). ldapi:// is "
            "slapd's Unix socket on this host, its path percent-encoded (ldapi://%2Frun%2Fslapd%2Fldapi; "
            "ldapi:/// is libldap's default): no TLS, so starttls and ca_file do not apply to it."},
    KeySpec{"directory.ldap[]", "base", K::String, "", true, true, "Search base DN."},
    KeySpec{"directory.ldap[]", "filter", K::String, "\"(mail=%s)\"", false, true,
            "Search filter; %s is replaced by the recipient address, escaped (RFC 4515). One "
            "parenthesised filter, its parentheses balanced, no empty item."},
    KeySpec{"directory.ldap[]", "bind_dn", K::String, "", false, true,
            "DN for a simple bind; absent: anonymous."},
    KeySpec{"directory.ldap[]", "bind_password_file", K::String, "", false, true,
            "File whose first line is the bind password (needed with bind_dn; never logged)."},
    KeySpec{"directory.ldap[]", "starttls", K::Boolean, "false", false, true,
            "Require StartTLS on ldap:// servers."},
    KeySpec{"directory.ldap[]", "ca_file", K::String, "", false, true,
            "PEM CA certificates for ldaps:// and StartTLS; absent: the system's CA store."},
    KeySpec{"directory.ldap[]", "timeout", K::Duration, "\"5s\"", false, true,
            "Longest wait for a connection and for one search, per server (1s to 120s)."},
    KeySpec{"directory.ldap[]", "max_entries", K::Integer, "8", false, true,
            "Most entries one search may match (the size limit sent, 1 to 1000); more make the "
            "answer cut: none used, since which is the recipient's is unknown."},
    KeySpec{"directory.ldap[]", "max_values", K::Integer, "32", false, true,
            "Most attribute values and certificates kept from one answer (1 to 1000); the rest "
            "are left out and the answer is cut."},
    KeySpec{"directory.ldap[]", "max_value_bytes", K::Size, "\"64KiB\"", false, true,
            "Longest attribute value read (1 byte to 1MiB); longer ones are left out and the "
            "answer is cut."},

    KeySpec{"directory.groups", "servers", K::StringArray, "", true, true,
            "LDAP URIs of the directory that holds the groups of from_group/to_group rules, asked in order "
            "(ldap://, ldaps:// or ldapi://, as in [[directory.ldap]])."},
    KeySpec{"directory.groups", "user_base", K::String, "", true, true,
            "Search base of the people whose addresses are looked up."},
    KeySpec{"directory.groups", "user_filter", K::String, "\"(mail=%s)\"", false, true,
            "Filter finding an address's entries; %s is the escaped address. One parenthesised "
            "filter, its parentheses balanced, no empty item."},
    KeySpec{"directory.groups", "group_base", K::String, "\"\"", false, true,
            "Where groups named by cn (not by DN) are; empty: groups must be given as DNs."},
    KeySpec{"directory.groups", "bind_dn", K::String, "", false, true,
            "DN to bind as; absent: anonymous."},
    KeySpec{"directory.groups", "bind_password_file", K::String, "", false, true,
            "File holding the bind password (first line)."},
    KeySpec{"directory.groups", "starttls", K::Boolean, "false", false, true,
            "Require StartTLS on ldap:// servers."},
    KeySpec{"directory.groups", "ca_file", K::String, "", false, true,
            "PEM CA certificates for ldaps:// and StartTLS; absent: the system's CA store."},
    KeySpec{"directory.groups", "timeout", K::Duration, "\"5s\"", false, true,
            "Longest wait for a connection and for one search, per server (1s to 120s)."},
    KeySpec{"directory.groups", "nested", K::Boolean, "true", false, true,
            "Follow groups that are members of groups (8 levels; upwards under group_base for from_group/to_group)."},
    KeySpec{"directory.groups", "cache_ttl", K::Duration, "\"5m\"", false, true,
            "How long a membership answer (or a mail list's group expansion) is reused; 0: ask every time."},
    KeySpec{"directory.groups", "search_references", K::String, "\"fail\"", false, true,
            "What \"not a member\", \"no such group\" and \"no clearance\" found under a base the server refers "
            "partly to other servers (search references, never followed) are: fail (no answer: 451 4.7.1) "
            "or ignore (the answer of what this server holds; Active Directory domain roots)."},

    KeySpec{"directory.smimea", "enabled", K::Boolean, "false", false, true,
            "Look recipients' certificates up in DNS SMIMEA records (RFC 8162), after every other "
            "source; only DNSSEC-secure answers are used."},
    KeySpec{"directory.smimea", "domains", K::StringArray, "", false, true,
            "Recipient domains whose SMIMEA records are looked up (subdomains are not included); "
            "absent: every domain."},
    KeySpec{"directory.smimea", "resolver", K::String, "", false, true,
            "The DNS server asked, ADDRESS or ADDRESS@PORT (answers are validated here, not "
            "trusted); absent: the nameservers of /etc/resolv.conf."},
    KeySpec{"directory.smimea", "trust_anchor_file", K::String, "\"/usr/share/dns/root.key\"", false, true,
            "DNSSEC trust anchors: DS or DNSKEY records in zone-file format. The [directory] cache keeps "
            "SMIMEA answers per resolver and trust anchor file (its name and content): after a reload that "
            "changes either, no answer validated, or found insecure, under the old ones is used."},
    KeySpec{"directory.smimea", "timeout", K::Duration, "\"5s\"", false, true,
            "Longest wait for one SMIMEA answer (1s to 120s); beyond it the lookup is a directory failure "
            "(451 4.7.1 under mandatory encryption)."},
    KeySpec{"directory.smimea", "trust_dane_ee", K::Boolean, "false", false, true,
            "Use usage-3 (DANE-EE) certificates on DNSSEC trust alone, without a chain to [pki] "
            "trust_anchors; usage-1 (PKIX-EE) ones must always chain."},

    KeySpec{"reinjection", "address", K::String, "\"\"", false, true,
            "host:port of a loopback SMTP listener of the MTA that runs ssm-milter again; when set, "
            "recipients whose treatment differs from the first accepted one are accepted and sent "
            "as a separate copy through it, instead of being deferred with 452 4.5.3. Empty: off. "
            "A loopback address only (127.0.0.0/8, [::1] or localhost): a copy is the message before "
            "encryption, carrying the reinjection secret; any other address is a configuration error."},
    KeySpec{"reinjection", "secret_file", K::String, "\"\"", false, true,
            "File holding the secret (at least 16 bytes) that authenticates reinjected copies; "
            "required with address, readable only by ssm-milter. A reload that changes the secret (or the "
            "file's content) still recognises the copies of messages begun before it, until those "
            "messages have ended; then only the new secret is accepted."},
    KeySpec{"reinjection", "timeout", K::Duration, "\"60s\"", false, true,
            "Longest wait for the reinjection listener (1s to 1h): for connecting, for each of its replies "
            "and each write; beyond it the whole message is deferred."},
    KeySpec{"reinjection", "marker_lifetime", K::Duration, "\"5d\"", false, true,
            "How long a reinjected copy is recognised as ours (it may wait in a queue)."},

    KeySpec{"metrics", "listen", K::String, "\"\"", false, false,
            "address:port of the Prometheus endpoint (GET /metrics, text format 0.0.4): a "
            "loopback address only (127.0.0.0/8, [::1] or localhost), e.g. \"127.0.0.1:9712\". "
            "Empty: no endpoint. A change takes effect at the next restart."},

    KeySpec{"domain[]", "name", K::String, "", true, true,
            "One of our own mail domains; its subdomains belong to it unless they have a "
            "[[domain]] of their own (the most specific entry applies, in any order)."},
    KeySpec{"domain[]", "signing_identity", K::String, "", false, true,
            "Address of the token certificate that signs for the domain; default "
            "domain-signing-authority@NAME (RFC 3183)."},

    KeySpec{"policy", "sign", K::String, "\"none\"", false, true,
            "Default of the rules' sign: sender, domain or none."},
    KeySpec{"policy", "encrypt", K::String, "\"never\"", false, true,
            "Default of the rules' encrypt: mandatory, opportunistic or never."},
    KeySpec{"policy", "encrypt_to", K::String, "\"recipient\"", false, true,
            "Default of the rules' encrypt_to: recipient, domain or an address."},
    KeySpec{"policy", "cipher", K::String, "", false, true,
            "Default of the rules' cipher; absent: the [encryption] cipher."},
    KeySpec{"policy", "recipient_identifier", K::String, "", false, true,
            "Default of the rules' recipient_identifier; absent: the [encryption] recipient_identifier."},
    KeySpec{"policy", "minimum_cipher", K::String, "\"none\"", false, true,
            "Default of the rules' minimum_cipher: none, aes128, aes256, aes128-gcm or aes256-gcm."},
    KeySpec{"policy", "header_protection", K::Boolean, "", false, true,
            "Default of the rules' header_protection; absent: the [encryption] header_protection."},
    KeySpec{"policy", "require_signature", K::Boolean, "false", false, true,
            "Default of the rules' require_signature."},
    KeySpec{"policy", "require_encryption", K::Boolean, "false", false, true,
            "Default of the rules' require_encryption."},
    KeySpec{"policy", "require_integrity", K::Boolean, "false", false, true,
            "Default of the rules' require_integrity."},
    KeySpec{"policy", "on_missing", K::String, "\"reject\"", false, true,
            "Default of the rules' on_missing: reject or tag."},
    KeySpec{"policy", "no_certificate", K::String, "\"reject\"", false, true,
            "Default of the rules' no_certificate: reject or return."},
    KeySpec{"policy", "security_label", K::String, "", false, true,
            "Default of the rules' security_label; absent: no default label."},
    KeySpec{"policy", "receipt_request", K::String, "\"none\"", false, true,
            "Default of the rules' receipt_request: none, all or first-tier."},
    KeySpec{"policy", "receipts_to", K::StringArray, "", false, true,
            "Default of the rules' receipts_to; absent: the author's address."},
    KeySpec{"policy", "answer_receipts", K::Boolean, "false", false, true,
            "Default of the rules' answer_receipts."},
    KeySpec{"policy", "receipt_identity", K::String, "", false, true,
            "Default of the rules' receipt_identity; absent: the recipient domain's signing identity."},
    KeySpec{"policy", "recipient_delimiter", K::String, "\"+\"", false, true,
            "Address extension delimiters of our [[domain]]s (and their subdomains), each character "
            "one (as Postfix recipient_delimiter): a pattern naming one address also matches it with "
            "an extension (ceo+x@ for ceo@), in rules, groups and [[clearance]], and a recipient "
            "without a certificate of its own is encrypted to its mailbox's (the address without the "
            "extension); \"\" turns this off. Never applied to other domains."},
    KeySpec{"policy", "partner_recipient_delimiters", K::StringTable, "", false, true,
            "Address extension delimiters of partner domains, one entry per mail domain (exactly that "
            "domain, not its subdomains; none of ours): \"partner.example\" = \"-\"; \"\" for a "
            "partner without extensions."},
    KeySpec{"policy", "partner_recipient_delimiter", K::String, "\"+\"", false, true,
            "Address extension delimiters of every domain that is neither ours nor in "
            "partner_recipient_delimiters: \"+\" or \"\" (off for them)."},

    KeySpec{"rule[]", "name", K::String, "", true, true,
            "Name shown in logs and by ssmctl policy test; give each rule its own (a name two rules "
            "share is warned of by ssm-milter -n, at start-up and at each reload)."},
    KeySpec{"rule[]", "scope", K::String, "\"global\"", false, true,
            "Layer of the rule: user rules are tried before domain rules, domain rules before "
            "global ones; first match within a layer, in file order."},
    KeySpec{"rule[]", "direction", K::String, "", false, true,
            "inbound or outbound; absent: both."},
    KeySpec{"rule[]", "from", K::StringArray, "", false, true,
            "Sender patterns (addr, *@domain, *@*.domain, *); absent: any. Matched against the envelope "
            "sender; inbound, an address of the From header matches too (see Conditions)."},
    KeySpec{"rule[]", "from_list", K::String, "", false, true,
            "File of sender patterns, one per line, # comments; read at load time (relative "
            "to the configuration file's folder)."},
    KeySpec{"rule[]", "from_group", K::StringArray, "", false, true,
            "Directory groups (DN or name) the sender must belong to (one of them)."},
    KeySpec{"rule[]", "to", K::StringArray, "", false, true,
            "Recipient patterns; absent: any."},
    KeySpec{"rule[]", "to_list", K::String, "", false, true,
            "File of recipient patterns, like from_list."},
    KeySpec{"rule[]", "to_group", K::StringArray, "", false, true,
            "Directory groups (DN or name) the recipient must belong to (one of them)."},
    KeySpec{"rule[]", "client", K::StringArray, "", false, true,
            "Client networks (address or CIDR); the client must be in one."},
    KeySpec{"rule[]", "authenticated", K::Boolean, "", false, true,
            "true: only mail whose client used SMTP AUTH; false: only mail whose client did not."},
    KeySpec{"rule[]", "authenticated_as", K::StringArray, "", false, true,
            "SMTP AUTH user names ({auth_authen}, compared exactly, case included); the client must "
            "have authenticated as one of them."},
    KeySpec{"rule[]", "subject_tag", K::String, "", false, true,
            "Header trigger: the Subject contains this tag (case-insensitive), e.g. \"[encrypt]\"; "
            "also inside RFC 2047 encoded-words, as clients write a Subject with non-ASCII "
            "characters."},
    KeySpec{"rule[]", "header", K::StringArray, "", false, true,
            "Header triggers \"Name: value pattern\" (* and ? wildcards, case-insensitive); "
            "one must match. Values in RFC 2047 encoded-words are matched decoded too."},
    KeySpec{"rule[]", "sign", K::String, "", false, true,
            "sender, domain or none; absent: [policy] sign."},
    KeySpec{"rule[]", "signing_identity", K::String, "", false, true,
            "Sign with the token key of this address (needs sign = sender or domain)."},
    KeySpec{"rule[]", "encrypt", K::String, "", false, true,
            "mandatory, opportunistic or never; absent: [policy] encrypt."},
    KeySpec{"rule[]", "encrypt_to", K::String, "", false, true,
            "recipient (gateway-to-desktop: the recipient's own certificate), domain "
            "(gateway-to-gateway: domain-confidentiality-authority@<recipient domain>, RFC 3183) "
            "or an address whose certificate is used; absent: [policy] encrypt_to."},
    KeySpec{"rule[]", "cipher", K::String, "", false, true,
            "Content encryption for these recipients: auto, aes256-gcm, aes128-gcm, aes256-cbc, "
            "aes128-cbc or chacha20-poly1305; absent: [policy] cipher, else [encryption] cipher."},
    KeySpec{"rule[]", "recipient_identifier", K::String, "", false, true,
            "How the RecipientInfos of these recipients name their certificates: issuer-serial or "
            "key-id; absent: [policy] recipient_identifier, else [encryption] recipient_identifier. "
            "Per recipient: recipients with different choices share one message (a certificate "
            "shared by several recipients is named by its key id when one of their rules says key-id)."},
    KeySpec{"rule[]", "minimum_cipher", K::String, "", false, true,
            "Weakest acceptable content encryption: none, aes128, aes256, aes128-gcm or "
            "aes256-gcm (chacha20-poly1305 meets each); a weaker choice is raised to it."},
    KeySpec{"rule[]", "header_protection", K::Boolean, "", false, true,
            "Copy the header fields into the encrypted part (RFC 9788); absent: [policy], else "
            "[encryption] header_protection."},
    KeySpec{"rule[]", "strip_trigger", K::Boolean, "false", false, true,
            "Remove the subject_tag from the Subject of the delivered message."},
    KeySpec{"rule[]", "required_policies", K::StringArray, "", false, true,
            "Inbound: certificate policy OIDs (of the trust anchor's policy domain), one of which "
            "must be valid for the partner's signer certificate path (RFC 5280 6.1, policy "
            "mappings applied)."},
    KeySpec{"rule[]", "strip_signature", K::Boolean, "false", false, true,
            "Inbound: remove the verified signature layer for this rule's recipients (clients that "
            "cannot show S/MIME); the result stays in Authentication-Results."},
    KeySpec{"rule[]", "revocation", K::String, "", false, true,
            "Inbound: revocation checking of the partner's signer certificates, off, soft-fail or "
            "hard-fail; absent: [pki] revocation."},
    KeySpec{"rule[]", "require_signature", K::Boolean, "", false, true,
            "Inbound: the partner's mail must carry a valid signature."},
    KeySpec{"rule[]", "require_encryption", K::Boolean, "", false, true,
            "Inbound: the partner's mail must arrive encrypted."},
    KeySpec{"rule[]", "require_integrity", K::Boolean, "", false, true,
            "Inbound: the partner's mail that the gateway decrypted must be integrity-protected: "
            "AuthEnvelopedData, or a valid signature inside the encryption; mail that was not "
            "encrypted is not affected (require_encryption)."},
    KeySpec{"rule[]", "no_certificate", K::String, "", false, true,
            "Outbound, with encrypt = mandatory: a recipient without a usable certificate is "
            "refused at RCPT (reject: 550 5.7.1), or accepted and the message returned to its "
            "sender with the reason (return: a delivery status notification through "
            "[reinjection], which it needs; the other recipients get the message; a message "
            "from the null sender is refused instead). Absent: [policy] no_certificate."},
    KeySpec{"rule[]", "on_missing", K::String, "", false, true,
            "Inbound mail lacking what the rule requires: reject (550 5.7.1) or tag "
            "(X-SSM-Policy header); absent: [policy] on_missing. Mail to a [[mail_list]] "
            "address is held to the rule that matches the sender and the list address, with "
            "the same replies and tag, and each member to its own rule: a member whose rule "
            "would refuse the message does not get it, one whose rule tags has the message "
            "tagged (see MAIL LISTS)."},
    KeySpec{"rule[]", "receipt_request", K::String, "", false, true,
            "Outbound: ask for signed receipts (RFC 2634) in our signature: all (every recipient) "
            "or first-tier (not recipients reached through a mailing list); none: do not ask. "
            "The request is kept in the receipt store ([directory] cache, ssmctl receipts) and "
            "receipts that come back are matched against it. Needs a rule that signs. Absent: "
            "[policy] receipt_request."},
    KeySpec{"rule[]", "receipts_to", K::StringArray, "", false, true,
            "Outbound: where receipts go (1 to 16 addresses); absent: [policy] receipts_to, else "
            "the author's (From) address."},
    KeySpec{"rule[]", "answer_receipts", K::Boolean, "", false, true,
            "Inbound: the gateway answers signed receipt requests (RFC 2634) for these "
            "recipients itself: when a signature that passed asks for a receipt from them "
            "(allOrFirstTier, or a receiptList naming the recipient or the answering identity; "
            "a mail list's mlReceiptPolicy applies), one signed receipt per message and answering "
            "identity goes to the receiptsTo addresses through [reinjection] (needed: without it "
            "the receipt is logged as not sent). Signed receipts are never answered. The original "
            "message is delivered as always. Absent: [policy] answer_receipts."},
    KeySpec{"rule[]", "receipt_identity", K::String, "", false, true,
            "Inbound: the token key that signs the receipts answer_receipts makes (its address is "
            "the receipt's From); absent: [policy] receipt_identity, else the [[domain]] "
            "signing_identity of the recipient's domain."},
    KeySpec{"rule[]", "security_label", K::String, "", false, true,
            "Outbound: name of the [[security_label]] signed into mail whose author gave no "
            "SIO-Label; needs a rule that signs. Absent: [policy] security_label."},

    KeySpec{"labels", "unknown_policy", K::String, "\"reject\"", false, true,
            "Inbound mail with a verified security label whose policy is neither ours nor mapped "
            "by an equivalence: reject (550 5.7.1) or accept (delivered, no clearance check)."},
    KeySpec{"labels", "clearance_attribute", K::String, "\"\"", false, true,
            "Attribute of a recipient's entry in the [directory.groups] directory (found with its "
            "user_base and user_filter) whose values are RFC 5755 Clearance DER, e.g. "
            "\"clearance;binary\"; asked for recipients no [[clearance]] entry names. Empty: "
            "clearances come from [[clearance]] only."},
    KeySpec{"labels", "clearance_from_certificate", K::Boolean, "false", false, true,
            "Also read the RFC 5755 Clearance in the subjectDirectoryAttributes extension of the "
            "recipient's own certificate on the token, for recipients no [[clearance]] entry names, "
            "as far as the Authority Clearance Constraints (RFC 5913) of the CA certificates of its "
            "path to a [pki] trust anchor permit."},

    KeySpec{"security_label[]", "name", K::String, "", true, true,
            "Name of the label, used by rules (security_label) and equivalences (label)."},
    KeySpec{"security_label[]", "policy", K::String, "", true, true,
            "security-policy-identifier: the OID of the security policy (dotted)."},
    KeySpec{"security_label[]", "classification", K::Integer, "", false, true,
            "SecurityClassification 0..256 (RFC 2634: 0 unmarked, 1 unclassified, 2 restricted, "
            "3 confidential, 4 secret, 5 top-secret); absent: none."},
    KeySpec{"security_label[]", "privacy_mark", K::String, "", false, true,
            "ESSPrivacyMark text (PrintableString when it fits, else UTF8String); absent: none."},
    KeySpec{"security_label[]", "categories", K::StringArray, "", false, true,
            "Security categories as \"TYPE-OID:HEX\" (HEX: the DER of the value)."},
    KeySpec{"security_label[]", "marking", K::String, "", false, true,
            "Display marking (RFC 7444 SIO-Label marking) that selects this label outbound and is "
            "shown inbound; default: the privacy mark, else the name. Unique."},

    KeySpec{"clearance[]", "recipients", K::StringArray, "", true, true,
            "Recipient patterns (addr, *@domain, *@*.domain, *) this clearance applies to."},
    KeySpec{"clearance[]", "policy", K::String, "", true, true,
            "OID of the security policy the clearance is for."},
    KeySpec{"clearance[]", "classifications", K::IntegerArray, "", true, true,
            "Classifications (0..256) the recipients may receive; a label without one counts "
            "as 0."},
    KeySpec{"clearance[]", "categories", K::StringArray, "", false, true,
            "Security categories (\"TYPE-OID:HEX\") the recipients may receive; a label "
            "with any other category is refused."},

    KeySpec{"label_equivalence[]", "policy", K::String, "", true, true,
            "OID of the partner's security policy."},
    KeySpec{"label_equivalence[]", "classification", K::Integer, "", false, true,
            "The partner's classification; absent: the partner's label carries none."},
    KeySpec{"label_equivalence[]", "label", K::String, "", true, true,
            "Name of our [[security_label]] that the partner's label means."},
    KeySpec{"label_equivalence[]", "domains", K::StringArray, "", false, true,
            "Partner domains: inbound, only mail from these authors is mapped; outbound, mail "
            "with our label to these domains also carries the partner's label (equivalentLabels). "
            "Absent: inbound from anyone, never outbound."},

    KeySpec{"mail_list[]", "address", K::String, "", true, true,
            "The list address (in one of our [[domain]]s); mail to it is expanded to the members."},
    KeySpec{"mail_list[]", "identity", K::String, "", false, true,
            "Address of the list's certificate and key on the token, which decrypt what was "
            "encrypted to the list and sign the outer layer; default: the list address."},
    KeySpec{"mail_list[]", "members", K::StringArray, "", false, true,
            "Member addresses (at most 1000; not the list address itself). A list needs members, "
            "members_group or both."},
    KeySpec{"mail_list[]", "members_group", K::String, "", false, true,
            "A group of the [directory.groups] directory (a DN, or a cn under its group_base) "
            "whose members (member, uniqueMember; each one's mail) are also the list's, read at "
            "each expansion and reused for its cache_ttl."},
    KeySpec{"mail_list[]", "receipt_policy", K::String, "\"keep\"", false, true,
            "keep (the originator's receipt request stands), none (no receipts), insteadOf or "
            "inAdditionTo (receipts to receipts_to instead of, or as well as, the originator's "
            "receiptsTo): the MLReceiptPolicy of our mlExpansionHistory entry (RFC 2634 §4.3)."},
    KeySpec{"mail_list[]", "receipts_to", K::StringArray, "", false, true,
            "Receipt addresses (1 to 16) for insteadOf and inAdditionTo; not allowed otherwise."},
};
// clang-format on

}  // namespace

std::span<const KeySpec> config_keys()
{
    return kKeys;
}

const KeySpec* find_key(std::string_view table, std::string_view key)
{
    for (const auto& k : kKeys)
        if (k.table == table && k.key == key) return &k;
    return nullptr;
}

bool is_known_table(std::string_view table)
{
    for (const auto& k : kKeys)
        if (k.table == table) return true;
    return false;
}

const char* key_type_name(KeyType t)
{
    switch (t) {
    case KeyType::String: return "string";
    case KeyType::Integer: return "integer";
    case KeyType::Boolean: return "boolean";
    case KeyType::Size: return "size (e.g. \"1MiB\")";
    case KeyType::Duration: return "duration (e.g. \"1h\")";
    case KeyType::StringArray: return "array of strings";
    case KeyType::IntegerArray: return "array of integers";
    case KeyType::StringTable: return "table of strings (dotted names quoted: \"partner.example\" = \"+\")";
    }
    return "value";
}

}  // namespace ssm::milter
