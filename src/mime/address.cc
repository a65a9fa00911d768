// mime/address: see address.h.
#include "mime/address.h"

#include "mime/gmime_ptr.h"

namespace smime {

std::string SingleMailbox(const std::vector<std::string>& values, std::string* addr) {
  addr->clear();
  if (values.empty()) return "no-from-header";
  if (values.size() > 1) return "multiple-from-headers";
  EnsureGmimeInitialised();
  GObjPtr<InternetAddressList> list(internet_address_list_parse(nullptr, values[0].c_str()));
  if (!list || internet_address_list_length(list.get()) != 1) return "from-not-single-mailbox";
  InternetAddress* ia = internet_address_list_get_address(list.get(), 0);
  if (!INTERNET_ADDRESS_IS_MAILBOX(ia)) return "from-not-single-mailbox";
  const char* a = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
  std::string s = a ? a : "";
  size_t at = s.rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 == s.size()) return "from-without-address";
  *addr = s;
  return "";
}

namespace {
void Collect(InternetAddressList* list, std::vector<std::string>* out) {
  for (int i = 0; list && i < internet_address_list_length(list); ++i) {
    InternetAddress* ia = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_GROUP(ia)) {
      Collect(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)), out);
    } else if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
      const char* a = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
      if (a && *a) out->push_back(a);
    }
  }
}
}  // namespace

std::vector<std::string> AllMailboxes(const std::vector<std::string>& values) {
  EnsureGmimeInitialised();
  std::vector<std::string> out;
  for (const std::string& v : values) {
    GObjPtr<InternetAddressList> list(internet_address_list_parse(nullptr, v.c_str()));
    Collect(list.get(), &out);
  }
  return out;
}

}  // namespace smime
