// Unit tests for cms/encrypt's streamed output: EncryptToBase64Lines gives
// 76-column base64 lines of one ContentInfo (EnvelopedData for CBC,
// AuthEnvelopedData for GCM) that OpenSSL re-encodes to the same bytes and
// that the recipient decrypts to exactly the content, whatever its size
// (every DER length form) and however the writer slices it; a failing
// writer is a Status and leaves the output untouched.
#include "cms/encrypt.h"

#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include <string>
#include <string_view>

#include "base/testing.h"
#include "testing/test_pki.h"

using namespace smime;
using namespace smime::testpki;

namespace {

struct Pki {
  Issued root, rsa, ec;
};
Pki* g = nullptr;

int SetUp(void**) {
  g = new Pki;
  g->root = MakeCa("Root");
  g->rsa = MakeLeaf(SmimeSpec("carol@b.example"), g->root);
  CertSpec ec = SmimeSpec("dave@b.example");
  ec.key = KeyKind::kEcP256;
  g->ec = MakeLeaf(ec, g->root);
  return 0;
}

int TearDown(void**) {
  delete g;
  g = nullptr;
  return 0;
}

// The DER of base64 lines; fails the test on a line longer than 76 or
// without CRLF.
std::string DecodeLines(const std::string& b64) {
  std::string der;
  size_t at = 0;
  while (at < b64.size()) {
    const size_t eol = b64.find("\r\n", at);
    assert_true(eol != std::string::npos);
    assert_true(eol - at <= 76);
    std::string line = b64.substr(at, eol - at);
    std::string out(line.size(), '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(&out[0]),
                            reinterpret_cast<const unsigned char*>(line.data()),
                            static_cast<int>(line.size()));
    assert_true(n >= 0);
    size_t pad = 0;
    while (pad < line.size() && line[line.size() - 1 - pad] == '=') ++pad;
    der.append(out, 0, static_cast<size_t>(n) - pad);
    at = eol + 2;
  }
  return der;
}

void CheckRoundTrip(ContentCipher cipher, const Issued& who, size_t size) {
  std::string content(size, '\0');
  for (size_t i = 0; i < size; ++i) content[i] = static_cast<char>(i * 7 + 3);
  EncryptParams p;
  p.cipher = cipher;
  p.recipients.push_back({who.cert.get(), RsaKeyTransport::kPkcs1});
  std::string b64;
  Status st = EncryptToBase64Lines(
      [&](const std::function<bool(std::string_view)>& emit) {
        const std::string_view v(content);
        for (size_t at = 0; at < v.size(); at += 1000 + at % 13)
          if (!emit(v.substr(at, 1000 + at % 13))) return false;
        return true;
      },
      size, p, &b64);
  assert_true(st.ok());
  const std::string der = DecodeLines(b64);
  CmsPtr cms = ParseExactCms(der);
  assert_int_equal(OBJ_obj2nid(CMS_get0_type(cms.get())), IsAuthenticated(cipher)
                                                              ? NID_id_smime_ct_authEnvelopedData
                                                              : NID_pkcs7_enveloped);
  BioPtr out(BIO_new(BIO_s_mem()));
  assert_int_equal(
      CMS_decrypt(cms.get(), who.key.get(), who.cert.get(), nullptr, out.get(), CMS_BINARY), 1);
  char* data = nullptr;
  const long n = BIO_get_mem_data(out.get(), &data);
  assert_int_equal(n, size);
  assert_true(size == 0 || std::string(data, static_cast<size_t>(n)) == content);
}

void TestEveryLengthFormDecrypts(void**) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{57}, size_t{110},
                      size_t{4000}, size_t{65536}, size_t{70001}, (size_t{1} << 24) + 5}) {
    CheckRoundTrip(ContentCipher::kAes256Cbc, g->rsa, size);
    CheckRoundTrip(ContentCipher::kAes128Gcm, g->ec, size);
  }
}

void TestOneStringForm(void**) {
  EncryptParams p;
  p.recipients.push_back({g->rsa.cert.get(), RsaKeyTransport::kOaep});
  std::string der;
  assert_true(EncryptContent("Content-Type: text/plain\r\n\r\nsecret\r\n", p, &der).ok());
  const unsigned char* q = reinterpret_cast<const unsigned char*>(der.data());
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &q, static_cast<long>(der.size())));
  assert_non_null(cms.get());
  BioPtr out(BIO_new(BIO_s_mem()));
  assert_int_equal(
      CMS_decrypt(cms.get(), g->rsa.key.get(), g->rsa.cert.get(), nullptr, out.get(), CMS_BINARY),
      1);
}

void TestFailingWriterLeavesOutputAlone(void**) {
  EncryptParams p;
  p.recipients.push_back({g->rsa.cert.get(), RsaKeyTransport::kPkcs1});
  std::string b64 = "untouched";
  Status st = EncryptToBase64Lines(
      [](const std::function<bool(std::string_view)>& emit) { return emit("abc") && false; }, 3, p,
      &b64);
  assert_false(st.ok());
  assert_string_equal(b64.c_str(), "untouched");
  p.recipients.clear();
  assert_false(
      EncryptToBase64Lines(
          [](const std::function<bool(std::string_view)>& emit) { return emit("x"); }, 1, p, &b64)
          .ok());
  assert_string_equal(b64.c_str(), "untouched");
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestEveryLengthFormDecrypts),
      cmocka_unit_test(TestOneStringForm),
      cmocka_unit_test(TestFailingWriterLeavesOutputAlone),
  };
  return cmocka_run_group_tests(tests, SetUp, TearDown);
}
