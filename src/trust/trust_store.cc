// trust/trust_store: see trust_store.h.
#include "trust/trust_store.h"

#include <dirent.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "base/text.h"
#include "trust/cert_info.h"

namespace smime {

namespace {

Status AddPemFile(X509_STORE* store, const std::string& file, int* count) {
  BioPtr bio(BIO_new_file(file.c_str(), "r"));
  if (!bio) {
    DrainOpensslErrors();
    return Status::Config(file + ": cannot open: " + std::strerror(errno));
  }
  int here = 0, found = 0;
  for (;;) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    ++found;
    if (X509_STORE_add_cert(store, cert.get()) != 1) {
      std::string err = DrainOpensslErrors();
      if (err.find("already in hash table") == std::string::npos)
        return Status::Config(file + ": cannot add certificate: " + err);
      continue;  // the same anchor listed twice counts once
    }
    ++here;
  }
  // The loop ends with a "no start line" error at end of file; anything else
  // means a damaged PEM block.
  unsigned long e = ERR_peek_last_error();
  bool clean_eof = ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
  std::string err = DrainOpensslErrors();
  if (e != 0 && !clean_eof) return Status::Config(file + ": bad PEM data: " + err);
  if (found == 0) return Status::Config(file + ": no PEM certificate found");
  *count += here;
  return Status::Ok();
}

}  // namespace

Status TrustStore::Load(const std::string& path) {
  X509StorePtr store(X509_STORE_new());
  int count = 0;
  struct stat st;
  if (stat(path.c_str(), &st) != 0)
    return Status::Config(path + ": trust anchors: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) {
    std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir(path.c_str()), closedir);
    if (!dir) return Status::Config(path + ": cannot read folder: " + std::strerror(errno));
    std::vector<std::string> files;
    while (struct dirent* d = readdir(dir.get())) {
      std::string name = d->d_name;
      if (name.size() > 4 && (name.compare(name.size() - 4, 4, ".pem") == 0 ||
                              name.compare(name.size() - 4, 4, ".crt") == 0))
        files.push_back(path + "/" + name);
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) return Status::Config(path + ": no *.pem or *.crt files in folder");
    for (const std::string& f : files) {
      Status s = AddPemFile(store.get(), f, &count);
      if (!s.ok()) return s;
    }
  } else {
    Status s = AddPemFile(store.get(), path, &count);
    if (!s.ok()) return s;
  }
  std::vector<Anchor> anchors;
  STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store.get());
  for (int i = 0; i < sk_X509_OBJECT_num(objects); ++i) {
    X509* x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objects, i));
    if (!x) continue;
    X509_up_ref(x);
    anchors.push_back({SubjectText(x), ToTimeT(X509_get0_notAfter(x)), X509Ptr(x)});
  }
  store_ = std::move(store);
  count_ = count;
  anchors_ = std::move(anchors);
  chains_ = std::make_unique<ChainCache>(4096);  // paths to the old anchors are gone
  return Status::Ok();
}

std::vector<std::string> TrustStore::ExpiryWarnings(std::time_t now, int days) const {
  std::vector<std::string> out;
  for (const Anchor& a : anchors_) {
    std::string w = ExpiryWarning("trust anchor " + a.subject, a.not_after, now, days,
                                  "signatures through it no longer verify",
                                  "add its successor to trust_anchors");
    if (!w.empty()) out.push_back(std::move(w));
  }
  return out;
}

ChainResult TrustStore::VerifyChain(X509* leaf, STACK_OF(X509) * untrusted, std::time_t now) const {
  ChainResult r;
  if (!store_ || !leaf) {
    r.reason = "no trust anchors";
    return r;
  }
  const std::string key = ChainCache::KeyOf(leaf, untrusted);
  if (X509StackPtr chain = chains_->Find(key, now)) {
    r.trusted = true;
    r.chain = std::move(chain);
    return r;
  }
  r = VerifyPath(store_.get(), leaf, untrusted, now);
  if (r.trusted) chains_->Store(key, r.chain.get());
  return r;
}

ChainResult VerifyPath(X509_STORE* anchors, X509* leaf, STACK_OF(X509) * untrusted,
                       std::time_t now) {
  ChainResult r;
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), anchors, leaf, untrusted) != 1) {
    r.reason = "internal: " + DrainOpensslErrors();
    return r;
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, now);
  // An administrator may configure an intermediate as the anchor.
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  // Security level 0: OpenSSL does not judge key sizes or signature hashes
  // here, so a weak path verifies and PathAlgorithmProblem gives the reason
  // (policy weak-...), never a chain failure that depends on defaults.
  X509_VERIFY_PARAM_set_auth_level(param, 0);
  if (X509_verify_cert(ctx.get()) == 1) {
    r.trusted = true;
    r.chain.reset(X509_STORE_CTX_get1_chain(ctx.get()));
  } else {
    r.error = X509_STORE_CTX_get_error(ctx.get());
    r.reason = X509_verify_cert_error_string(r.error);
  }
  DrainOpensslErrors();
  return r;
}

}  // namespace smime
