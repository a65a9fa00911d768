// cli/cert_command: `smimectl cert import FILE.p12`, turning a PKCS#12 bundle
// (as exported by a CA or a mail client) into the PEM files a line of the
// signing_identities file names.
//
//   smimectl cert import FILE.p12 [--passphrase-file FILE] [--out-dir DIR]
//                        [--address ADDR] [--encryption-cert FILE.pem] [--force]
//                        [--decryption]
//
// With --decryption the bundle is one of our users' decryption keys
// (docs/decryption.md): the files are ADDR.SERIAL.crt and ADDR.SERIAL.key
// (SERIAL the certificate's serial in hex, so a renewed certificate does not
// replace the one that still opens old mail), DIR defaults to the folder of
// decryption_keys, the line printed is for that file and the warning is
// about encryption usage instead of signing. --encryption-cert (signing
// identities only) adds the user's separate encryption certificate.
//
// Entry point: CertCommand (see commands.h). This command, and only this one,
// loads OpenSSL's "legacy" provider (next to "default") so that old bundles
// (RC2-40, 3DES: `openssl pkcs12 -export -legacy`, Windows exports) decrypt;
// the milter never loads it. The passphrase is the first line of
// --passphrase-file (read by ReadSecretFile, base/safe_file.h: no link, not
// group- or world-accessible), else empty. The
// certificate that matches the key is the signer, every other certificate
// except self-signed roots (RFC 8550 2.3: the chain stops below the trust
// anchor) goes after it (in issuing order) into ADDR.crt; the key is written as an
// unencrypted PKCS#8 PEM ADDR.key, created with mode 0600 (never readable by
// others, not even briefly). ADDR is the certificate's first address unless
// --address names another one it holds (or @DOMAIN). DIR defaults to the
// folder of the configured signing_identities file. --encryption-cert names
// the user's separate encryption certificate (PEM, first certificate; it
// must name ADDR and be fit for encryption): copied to ADDR.enc.crt and
// named by encryption_cert= in the printed line. On success prints the
// line to add to that file and what is left to do (chown, reload).
//
// Failure modes, each one line on stderr: 64 usage; 78 (kExitConfig) for
// everything that stops the import before or while writing: unsafe or
// unreadable passphrase file, file not readable or not PKCS#12, "wrong
// passphrase for FILE", a passphrase for a bundle without MAC (OpenSSL's
// PKCS12_parse refuses those), no key or no certificate for it, an address the
// certificate does not name or that is unfit as a file name, an existing
// output file without --force, an output folder that cannot be written; 70
// when OpenSSL cannot encode the key or a certificate. A failed write removes
// what it created.
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "base/ossl.h"
#include "base/safe_file.h"
#include "base/text.h"
#include "certdir/identity_store.h"
#include "cli/commands.h"
#include "config/config.h"
#include "trust/cert_info.h"

namespace smime {

namespace {

using Pkcs12Ptr = std::unique_ptr<PKCS12, OsslDeleter<PKCS12, PKCS12_free>>;

struct ProviderUnloader {
  void operator()(OSSL_PROVIDER* p) const { OSSL_PROVIDER_unload(p); }
};
using ProviderPtr = std::unique_ptr<OSSL_PROVIDER, ProviderUnloader>;

struct FreeDeleter {
  void operator()(char* p) const { std::free(p); }
};

// Wipes a string holding secret material when it goes out of scope.
class Secret {
 public:
  Secret() = default;
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret() { OPENSSL_cleanse(s_.data(), s_.size()); }
  std::string* get() { return &s_; }
  const std::string& str() const { return s_; }

 private:
  std::string s_;
};

constexpr char kUsageLine[] =
    "usage: smimectl cert import FILE.p12 [--passphrase-file FILE] [--out-dir DIR] "
    "[--address ADDR] [--encryption-cert FILE.pem] [--force]";

int Usage(const std::string& why) {
  std::fprintf(stderr, "smimectl: cert: %s\n%s\n", why.c_str(), kUsageLine);
  return kExitUsage;
}

int Fail(const std::string& why) {
  std::fprintf(stderr, "smimectl: cert import: %s\n", why.c_str());
  return kExitConfig;
}

// The first line of a passphrase file, read by ReadSecretFile (base/safe_file.h).
Status ReadPassphrase(const std::string& path, std::string* pass) {
  Status st = ReadSecretLine(path, pass);
  if (!st.ok()) return st;
  if (pass->empty())
    return Status::Config("passphrase file " + path +
                          " is empty (omit --passphrase-file for a bundle without passphrase)");
  return Status::Ok();
}

// "" when address can be the identities file's first field and a file name
// in the output folder, else the reason.
std::string AddressProblem(const std::string& address) {
  const size_t at = address.find('@');
  if (at == std::string::npos || at + 1 >= address.size() ||
      address.find('@', at + 1) != std::string::npos)
    return "'" + address + "' is neither an address nor @domain";
  if (address[0] == '.') return "'" + address + "' starts with a dot";
  if (address.size() > 200) return "address too long for a file name";
  for (unsigned char c : address)
    if (c <= ' ' || c == 0x7f || c == '/' || c == '\\')
      return "address '" + address + "' holds white space, a control character or a slash";
  return "";
}

// Signer certificate's issuer first, then its issuer, ...; whatever does not
// fit the path follows in bundle order.
std::vector<X509Ptr> OrderChain(X509* leaf, std::vector<X509Ptr> rest) {
  std::vector<X509Ptr> out;
  X509* current = leaf;
  while (!rest.empty()) {
    size_t i = 0;
    while (i < rest.size() && X509_check_issued(rest[i].get(), current) != X509_V_OK) ++i;
    if (i == rest.size()) break;
    out.push_back(std::move(rest[i]));
    rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(i));
    current = out.back().get();
    if (X509_check_issued(current, current) == X509_V_OK) break;  // reached a root
  }
  for (X509Ptr& c : rest) out.push_back(std::move(c));
  DrainOpensslErrors();
  return out;
}

bool WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Writes data to path with exactly mode (base/safe_file.h). Without
// overwrite the file is created with O_EXCL (an existing file or link, or one
// that appears meanwhile, is an error); with overwrite a temporary file in the
// same folder, created 0600, is renamed over path. Either way the file never
// has more than mode, and a failed write leaves nothing behind.
Status WriteNewFile(const std::string& path, const std::string& data, mode_t mode, bool overwrite) {
  if (overwrite) return ReplaceFile(path, data, mode);
  UniqueFd fd;
  Status st = CreateNewFile(path, mode, &fd);
  if (!st.ok()) return st;
  if (!WriteAll(fd.get(), data) || ::fsync(fd.get()) != 0 || !fd.Close()) {
    const int err = errno;
    ::unlink(path.c_str());
    return Status::Io("cannot write " + path + ": " + std::strerror(err));
  }
  return Status::Ok();
}

struct Bundle {
  EvpPkeyPtr key;
  X509Ptr cert;
  std::vector<X509Ptr> chain;  // intermediates only
  size_t roots_dropped = 0;    // self-signed certificates of the bundle left out
};

// Decodes and decrypts the PKCS#12 file; legacy_note explains a missing
// legacy provider when decryption fails for want of an algorithm.
Status ParseBundle(const std::string& path, const std::string& pass, const std::string& legacy_note,
                   Bundle* out) {
  std::string der;
  if (!ReadWholeFile(path, &der))
    return Status::Io("cannot read " + path + ": " + std::strerror(errno));
  BioPtr bio(BIO_new_mem_buf(der.data(), static_cast<int>(der.size())));
  Pkcs12Ptr p12(bio ? d2i_PKCS12_bio(bio.get(), nullptr) : nullptr);
  if (!p12) {
    DrainOpensslErrors();
    return Status::InvalidInput(path + " is not a PKCS#12 file (.p12/.pfx, DER)");
  }
  // Check the passphrase on the MAC first: a mismatch is a plain "no"
  // without an OpenSSL error, whereas a failing decryption is ambiguous.
  if (PKCS12_mac_present(p12.get())) {
    const bool match = pass.empty() ? PKCS12_verify_mac(p12.get(), nullptr, 0) == 1 ||
                                          PKCS12_verify_mac(p12.get(), "", 0) == 1
                                    : PKCS12_verify_mac(p12.get(), pass.c_str(), -1) == 1;
    if (!match) {
      std::string detail = DrainOpensslErrors();
      if (detail.empty())
        return Status::Config(
            "wrong passphrase for " + path +
            (pass.empty() ? " (tried the empty one: give --passphrase-file)" : ""));
      return Status::Config("cannot check the passphrase of " + path + ": " + detail + legacy_note);
    }
  } else if (!pass.empty()) {
    // PKCS12_parse insists on a MAC when given a passphrase.
    return Status::InvalidInput(path +
                                " has no integrity check (MAC); export it again with one "
                                "(openssl pkcs12 -export without -nomac)");
  }
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* ca = nullptr;
  const int ok = PKCS12_parse(p12.get(), pass.c_str(), &key, &cert, &ca);
  out->key.reset(key);
  out->cert.reset(cert);
  X509StackPtr others(ca);
  if (ok != 1) {
    std::string detail = DrainOpensslErrors();
    return Status::Config("cannot decrypt " + path + ": " + detail + legacy_note);
  }
  DrainOpensslErrors();
  if (!out->key) return Status::InvalidInput(path + " holds no private key");
  if (!out->cert) return Status::InvalidInput(path + " holds no certificate for its private key");
  std::vector<X509Ptr> rest;
  while (others && sk_X509_num(others.get()) > 0) rest.emplace_back(sk_X509_shift(others.get()));
  // RFC 8550 2.3: a signature carries the path up to, not including, the
  // trust anchor; a self-signed root only adds bytes (and tempts readers to
  // trust it), so it is left out of the written chain.
  for (X509Ptr& c : OrderChain(out->cert.get(), std::move(rest))) {
    if (X509_self_signed(c.get(), 0) == 1) {
      ++out->roots_dropped;
      continue;
    }
    out->chain.push_back(std::move(c));
  }
  DrainOpensslErrors();
  return Status::Ok();
}

std::string Pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return "";
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : "";
}

// PEM PKCS#8, unencrypted; the memory is wiped when the BIO is freed.
bool KeyPem(EVP_PKEY* key, Secret* out) {
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return false;
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0) return false;
  out->get()->assign(data, static_cast<size_t>(len));
  return true;
}

std::string DirName(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

int Import(const std::string& config_path, const std::vector<std::string>& args) {
  std::string file, pass_file, out_dir, address, enc_file;
  bool force = false, have_file = false, decryption = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size() || args[i + 1].empty()) return false;
      *out = args[++i];
      return true;
    };
    if (a == "--passphrase-file") {
      if (!value(&pass_file)) return Usage("--passphrase-file needs a file");
    } else if (a == "--out-dir") {
      if (!value(&out_dir)) return Usage("--out-dir needs a folder");
    } else if (a == "--address") {
      if (!value(&address)) return Usage("--address needs an address");
    } else if (a == "--encryption-cert") {
      if (!value(&enc_file)) return Usage("--encryption-cert needs a file");
    } else if (a == "--force") {
      force = true;
    } else if (a == "--decryption") {
      decryption = true;
    } else if (a.size() > 1 && a[0] == '-') {
      return Usage("unknown option " + a);
    } else {
      if (have_file) return Usage("only one PKCS#12 file");
      file = a;
      have_file = true;
    }
  }
  if (!have_file) return Usage("import needs a PKCS#12 file");
  if (decryption && !enc_file.empty())
    return Usage("--encryption-cert is for signing identities, not with --decryption");

  // The configuration gives the default folder, the identities file to name
  // and the service user; with --out-dir it is optional (hints only).
  Config config;
  Status cst = config.Load(config_path);
  if (!cst.ok() && out_dir.empty())
    return Fail(cst.message() + " (give --out-dir to import without a configuration)");
  const char* const list_param = decryption ? "decryption_keys" : "signing_identities";
  const std::string identities =
      cst.ok() ? config.Str(list_param) : std::string("the ") + list_param + " file";
  const std::string user = (cst.ok() ? config : Config::Defaults()).Str("user");
  SetServiceAccountByName(user);
  if (out_dir.empty()) out_dir = DirName(identities);

  Secret pass;
  if (!pass_file.empty()) {
    Status st = ReadPassphrase(pass_file, pass.get());
    if (!st.ok()) return Fail(st.message());
  }

  // For this process only: old bundles need RC2/RC4/DES from "legacy";
  // loading a provider explicitly disables the implicit "default", so load
  // that too.
  ProviderPtr default_provider(OSSL_PROVIDER_load(nullptr, "default"));
  ProviderPtr legacy_provider(OSSL_PROVIDER_load(nullptr, "legacy"));
  std::string legacy_note;
  if (!legacy_provider) {
    DrainOpensslErrors();
    legacy_note =
        " (OpenSSL's legacy provider, needed for RC2/DES-encrypted bundles, is not available; "
        "see OPENSSL_MODULES)";
  }
  if (!default_provider)
    return Fail("cannot load OpenSSL's default provider: " + DrainOpensslErrors());

  Bundle b;
  Status st = ParseBundle(file, pass.str(), legacy_note, &b);
  if (!st.ok()) return Fail(st.message());

  const std::vector<std::string> names = CertificateAddresses(b.cert.get());
  std::string list;
  for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
  if (list.empty()) list = "no address";
  if (address.empty()) {
    if (names.empty())
      return Fail("the certificate in " + file +
                  " names no e-mail address: give --address @DOMAIN for a domain identity");
    address = names[0];
  } else if (address[0] != '@') {
    bool found = false;
    for (const std::string& n : names) found = found || SameMailbox(n, address, false);
    if (!found)
      return Fail("the certificate in " + file + " does not name " + address +
                  " (it names: " + list + ")");
  }
  address = AsciiLower(address);
  std::string problem = AddressProblem(address);
  if (!problem.empty()) return Fail(problem);

  std::unique_ptr<char, FreeDeleter> real(::realpath(out_dir.c_str(), nullptr));
  const int real_errno = errno;
  struct stat dst;
  if (!real || ::stat(real.get(), &dst) != 0 || !S_ISDIR(dst.st_mode))
    return Fail("cannot use output folder " + out_dir + ": " +
                (real ? "not a folder" : std::strerror(real_errno)));
  std::string dir = real.get();
  if (dir != "/") dir += '/';
  const std::string stem = dir + address + (decryption ? "." + SerialHex(b.cert.get()) : "");
  const std::string crt_path = stem + ".crt", key_path = stem + ".key";
  const std::string enc_path = enc_file.empty() ? "" : dir + address + ".enc.crt";
  for (const std::string& p : {crt_path, key_path, enc_path})
    if (!p.empty() && !force && Exists(p))
      return Fail("refusing to overwrite " + p + " (use --force)");
  // The separate encryption certificate: the checks the identity loader
  // makes (certdir/identity_store.h), before anything is written.
  std::string enc_pem;
  if (!enc_file.empty()) {
    BioPtr bio(BIO_new_file(enc_file.c_str(), "r"));
    X509Ptr enc(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    DrainOpensslErrors();
    if (!enc) return Fail("no PEM certificate in " + enc_file);
    const std::string enc_usage = EncryptionUsageProblem(enc.get());
    if (!enc_usage.empty())
      return Fail(enc_file + " is not fit for S/MIME encryption: " + enc_usage);
    bool named = false;
    for (const std::string& n : CertificateAddresses(enc.get()))
      named = named || (address[0] == '@' ? std::find(names.begin(), names.end(), n) != names.end()
                                          : SameMailbox(n, address, false));
    if (!named) return Fail(enc_file + " does not name " + address);
    enc_pem = Pem(enc.get());
    if (enc_pem.empty()) return Fail("cannot encode " + enc_file);
  }

  Secret key_pem;
  std::string crt_pem = Pem(b.cert.get());
  bool encoded = !crt_pem.empty() && KeyPem(b.key.get(), &key_pem);
  for (const X509Ptr& c : b.chain) {
    std::string pem = Pem(c.get());
    encoded = encoded && !pem.empty();
    crt_pem += pem;
  }
  if (!encoded) {
    std::fprintf(stderr, "smimectl: cert import: cannot encode the key or a certificate: %s\n",
                 DrainOpensslErrors().c_str());
    return kExitInternal;
  }

  // The key first: if the certificate cannot be written, remove the key we
  // created, so a retry does not trip over half an import.
  st = WriteNewFile(key_path, key_pem.str(), 0600, force);
  if (!st.ok()) return Fail(st.message());
  st = WriteNewFile(crt_path, crt_pem, 0644, force);
  if (st.ok() && !enc_path.empty()) {
    st = WriteNewFile(enc_path, enc_pem, 0644, force);
    if (!st.ok() && !force) ::unlink(crt_path.c_str());
  }
  if (!st.ok()) {
    if (!force) ::unlink(key_path.c_str());
    return Fail(st.message());
  }

  std::string usage =
      decryption ? EncryptionUsageProblem(b.cert.get()) : SigningUsageProblem(b.cert.get());
  if (!usage.empty())
    std::fprintf(stderr,
                 "smimectl: cert import: warning: the certificate is not fit for S/MIME "
                 "%s (%s): smime-milter will refuse this %s\n",
                 decryption ? "encryption" : "signing", usage.c_str(),
                 decryption ? "decryption key" : "identity");
  if (address[0] == '@' && !decryption)
    std::fprintf(stderr,
                 "smimectl: cert import: warning: domain identity %s: receiving clients check "
                 "that From: is in the certificate, which names: %s\n",
                 address.c_str(), list.c_str());
  else if (names.size() > 1)
    std::fprintf(stderr,
                 "smimectl: cert import: note: the certificate names %s; --address picks "
                 "another one\n",
                 list.c_str());
  std::printf("wrote %s (certificate, %zu chain certificate%s)\n", crt_path.c_str(), b.chain.size(),
              b.chain.size() == 1 ? "" : "s");
  if (b.roots_dropped > 0)
    std::printf(
        "left out %zu self-signed root certificate%s of the bundle (signatures carry the "
        "chain up to, not including, the trust anchor)\n",
        b.roots_dropped, b.roots_dropped == 1 ? "" : "s");
  std::printf("wrote %s (private key, unencrypted, mode 0600)\n", key_path.c_str());
  if (!enc_path.empty()) std::printf("wrote %s (encryption certificate)\n", enc_path.c_str());
  std::printf("add this line to %s:\n", identities.c_str());
  std::printf("%s %s %s%s\n", address.c_str(), crt_path.c_str(), key_path.c_str(),
              enc_path.empty() ? "" : (" encryption_cert=" + enc_path).c_str());
  std::printf(
      "then: chown %s %s (the service user; keep mode 0600), check with\n"
      "smime-milter -n and reload (systemctl reload smime-milter, or SIGUSR1)\n",
      user.c_str(), key_path.c_str());
  if (std::fflush(stdout) != 0) return kExitInternal;
  return kExitOk;
}

}  // namespace

int CertCommand(const std::string& config_path, const std::vector<std::string>& args) {
  if (args.empty()) return Usage("expected import, add, list, remove or lookup");
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "import") return Import(config_path, rest);
  return CertDirectoryCommand(config_path, args[0], rest);
}

}  // namespace smime
