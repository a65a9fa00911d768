// mime/address: the sender address the signer must match.
//
// SingleMailbox() applies SMIME-RULES.md rule 6: exactly one header value
// holding exactly one mailbox with an addr-spec. Display names are ignored.
// On failure it returns a short reason ("no-from-header", "multiple-from-
// headers", "from-not-single-mailbox") and leaves *addr empty.
#ifndef SMIME_MIME_ADDRESS_H_
#define SMIME_MIME_ADDRESS_H_

#include <string>
#include <vector>

namespace smime {

// values: the raw values of every header of one name (e.g. all From:).
// Returns "" on success.
std::string SingleMailbox(const std::vector<std::string>& values, std::string* addr);

// Every mailbox address in values (groups expanded), in order; for judging
// a header that SingleMailbox refused.
std::vector<std::string> AllMailboxes(const std::vector<std::string>& values);

}  // namespace smime

#endif  // SMIME_MIME_ADDRESS_H_
