// cli/store_command: `smimectl store init|migrate|check|copy`, the
// certificate store's schema and moving a store between backends
// (certdir/cert_store_open.h; docs/scaling.md).
//
// SPEC is a certificate_store value (sqlite, sqlite:FILE,
// postgresql:CONNINFO); without one, the configuration's certificate_store.
// Exit 0 done, 64 usage, 75 the store cannot be reached or written, 78 a
// refused spec or a schema newer than this build.
#include <cstdio>
#include <string>
#include <vector>

#include "base/ossl.h"
#include "certdir/cert_store_open.h"
#include "cli/commands.h"
#include "config/config.h"

namespace smime {

namespace {

int Fail(const Status& st) {
  std::fprintf(stderr, "smimectl: store: %s\n", st.message().c_str());
  if (st.code() == Status::Code::kConfig || st.code() == Status::Code::kInvalidInput)
    return kExitConfig;
  return kExitTempFail;
}

struct Context {
  Config config;
  PgStoreOptions pg;
};

// Opens spec ("" = the configured store); create: make or migrate the schema.
Status OpenSpec(const Context& ctx, std::string spec, bool create,
                std::shared_ptr<CertStore>* out) {
  if (spec.empty()) spec = ctx.config.Str("certificate_store");
  PgStoreOptions pg = ctx.pg;
  pg.create_schema = create;
  Status st = OpenCertStore(spec, ctx.config.Str("state_dir"), pg, out);
  if (!st.ok()) return st;
  if (auto* p = dynamic_cast<PgCertStore*>(out->get()); p && create) return p->Init();
  return Status::Ok();
}

int Report(const CertStore& store) {
  int version = 0;
  std::vector<CertStoreRow> rows;
  std::vector<std::string> cas;
  Status st = store.SchemaVersion(&version);
  if (st.ok()) st = store.List(&rows);
  if (st.ok()) st = store.ListIntermediates(&cas);
  if (!st.ok()) return Fail(st);
  size_t admin = 0;
  for (const CertStoreRow& r : rows) admin += r.trust == CertTrust::kAdmin;
  std::printf(
      "store %s: schema version %d, %zu certificates (%zu admin, %zu harvested), %zu "
      "intermediates\n",
      store.path().c_str(), version, rows.size(), admin, rows.size() - admin, cas.size());
  return kExitOk;
}

int Copy(const Context& ctx, const std::string& from_spec, const std::string& to_spec) {
  std::shared_ptr<CertStore> from, to;
  Status st = OpenSpec(ctx, from_spec, false, &from);
  if (st.ok()) st = OpenSpec(ctx, to_spec, true, &to);
  if (!st.ok()) return Fail(st);
  std::vector<CertStoreRow> rows;
  std::vector<std::string> cas;
  st = from->List(&rows);
  if (st.ok()) st = from->ListIntermediates(&cas);
  if (!st.ok()) return Fail(st);
  for (const CertStoreRow& r : rows) {
    st = to->Import(r);
    if (!st.ok()) return Fail(st);
  }
  std::vector<X509Ptr> parsed;
  std::vector<X509*> raw;
  for (const std::string& der : cas) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    X509Ptr c(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!c) continue;
    raw.push_back(c.get());
    parsed.push_back(std::move(c));
  }
  DrainOpensslErrors();
  st = to->AddIntermediates(raw);
  if (!st.ok()) return Fail(st);
  std::printf("copied %zu certificates and %zu intermediates from %s to %s\n", rows.size(),
              raw.size(), from->path().c_str(), to->path().c_str());
  return Report(*to);
}

}  // namespace

int StoreCommand(const std::string& config_path, const std::vector<std::string>& args) {
  const std::string sub = args.empty() ? "" : args[0];
  const bool schema = (sub == "init" || sub == "migrate" || sub == "check") && args.size() <= 2;
  if (!schema && !(sub == "copy" && args.size() == 3)) {
    std::fprintf(stderr, "usage: smimectl store init|migrate|check [SPEC] | copy FROM TO\n");
    return kExitUsage;
  }
  Context ctx;
  Status st = ctx.config.Load(config_path);
  if (!st.ok()) return Fail(Status::Config(st.message()));
  ctx.pg.timeout_ms = static_cast<long>(ctx.config.Int("certificate_store_timeout")) * 1000;
  ctx.pg.pool_size = 1;
  if (schema) {
    std::shared_ptr<CertStore> store;
    st = OpenSpec(ctx, args.size() == 2 ? args[1] : "", sub != "check", &store);
    if (!st.ok()) return Fail(st);
    return Report(*store);
  }
  return Copy(ctx, args[1], args[2]);
}

}  // namespace smime
