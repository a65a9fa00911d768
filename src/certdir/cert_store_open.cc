// certdir/cert_store_open: see cert_store_open.h.
#include "certdir/cert_store_open.h"

namespace smime {

namespace {

constexpr char kPgPrefix[] = "postgresql:";
constexpr char kSqlitePrefix[] = "sqlite:";

bool StartsWith(const std::string& s, const char* prefix) {
  return s.compare(0, std::char_traits<char>::length(prefix), prefix) == 0;
}

}  // namespace

Status CheckStoreSpec(const std::string& spec) {
  if (spec == "sqlite") return Status::Ok();
  if (StartsWith(spec, kSqlitePrefix))
    return spec.size() > sizeof kSqlitePrefix - 1 ? Status::Ok()
                                                  : Status::Config("sqlite: no file named");
  if (StartsWith(spec, kPgPrefix))
    return PgCertStore::CheckConninfo(spec.substr(sizeof kPgPrefix - 1));
  return Status::Config("'" + spec + "' is not sqlite, sqlite:FILE or postgresql:CONNINFO");
}

Status OpenCertStore(const std::string& spec, const std::string& state_dir,
                     const PgStoreOptions& pg, std::shared_ptr<CertStore>* out) {
  Status st = CheckStoreSpec(spec);
  if (!st.ok()) return st;
  if (spec == "sqlite") return CertStore::Open(state_dir + "/certificates.db", out);
  if (StartsWith(spec, kSqlitePrefix))
    return CertStore::Open(spec.substr(sizeof kSqlitePrefix - 1), out);
  PgStoreOptions o = pg;
  o.conninfo = spec.substr(sizeof kPgPrefix - 1);
  std::shared_ptr<PgCertStore> store;
  st = PgCertStore::Open(o, &store);
  if (!st.ok()) return st;
  *out = std::move(store);
  return Status::Ok();
}

}  // namespace smime
