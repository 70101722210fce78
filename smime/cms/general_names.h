// GeneralNames as ESS uses them (RFC 2634 receiptsTo, receiptList, MLReceiptPolicy): one
// rfc822Name written per GeneralNames, the first rfc822Name read back. Shared by the receipt
// and mail-list codecs. Read values are attacker input: bounded and checked before copying.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "smime/cms/asn1.h"

namespace ssm::smime::cms {

// An rfc822Name we write or copy out: 1..320 printable ASCII characters without spaces
// (a mailbox we can log and send to). Else ssm::Error(MalformedMessage) naming `where`.
void check_rfc822_name(const std::string& address, const char* where);

// Appends one GeneralNames holding the single rfc822Name `address` to the SEQUENCE OF
// GeneralNames at `field`.
void write_general_names(Asn1Node& n, const std::string& field, const std::string& address);

// Reads the SEQUENCE OF GeneralNames at `field` (at most `limit` entries, else
// MalformedMessage naming `what`): the first rfc822Name of each; the GeneralNames that have
// none are counted in `other`.
std::vector<std::string> read_general_names(const Asn1Node& n, const std::string& field, std::size_t limit,
                                            const char* what, std::size_t& other);

}  // namespace ssm::smime::cms
