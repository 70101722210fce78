// Which envelope recipients a key on the token may decrypt mail for. A ciphertext is no proof
// of who may read it: anyone holding a copy of one a partner encrypted to alice can send it
// again to another of our mailboxes, and a gateway that opened it with whatever key matched
// would hand alice's content to that mailbox. So a key opens a message only when it belongs
// to every envelope recipient of it:
//  - a person's key (its certificate names the recipient's address, compared as
//    hsm::KeyStore::decrypter_for does: the whole address, lower case);
//  - a domain key (RFC 3183 gateway-to-gateway): its certificate names
//    domain-confidentiality-authority@<the recipient's domain> (what partners encrypt to, as
//    our policy::key_owner does), or the signing identity of the [[domain]] it belongs to;
//  - a mail-list agent's key: its certificate names the identity of the [[mail_list]] whose
//    address the recipient is.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "base/email_address.h"
#include "milter/config.h"
#include "smime/decrypter.h"

namespace ssm::milter {

// Whether a key whose certificate names `key_addresses` (lower case) may open mail for
// `recipient`.
bool key_covers(const std::vector<std::string>& key_addresses, const EmailAddress& recipient, const Config& config);

// The keys of `keys` that may open mail for every one of `recipients`; none when `recipients`
// is empty (nobody to read it). Keys whose certificate does not parse name nobody.
std::vector<std::shared_ptr<smime::Decrypter>> keys_covering(const std::vector<std::shared_ptr<smime::Decrypter>>& keys,
                                                             const std::vector<EmailAddress>& recipients,
                                                             const Config& config);

}  // namespace ssm::milter
