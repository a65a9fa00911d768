// Unit tests for cms/cert_cache: sharing by DER bytes, bounds, refusal of
// anything but exactly one certificate, and use from many threads.
#include "cms/cert_cache.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <string>
#include <thread>
#include <vector>

#include "base/testing.h"
#include "testing/test_pki.h"

using namespace smime;
using namespace smime::testpki;

namespace {

std::string Der(X509* x) {
  unsigned char* out = nullptr;
  int n = i2d_X509(x, &out);
  std::string s(reinterpret_cast<char*>(out), static_cast<size_t>(n > 0 ? n : 0));
  OPENSSL_free(out);
  return s;
}

const unsigned char* Bytes(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

struct Fixture {
  Issued ca;
  std::vector<std::string> ders;  // a CA and three leaves, DER
};
Fixture* g_fx = nullptr;

int SetUp(void**) {
  g_fx = new Fixture;
  g_fx->ca = MakeCa("Cache Test CA");
  g_fx->ders.push_back(Der(g_fx->ca.cert.get()));
  for (const char* a : {"a@a.example", "b@a.example", "c@a.example"})
    g_fx->ders.push_back(Der(MakeLeaf(SmimeSpec(a), g_fx->ca).cert.get()));
  return 0;
}

int TearDown(void**) {
  delete g_fx;
  g_fx = nullptr;
  return 0;
}

void TestSameBytesSameObject(void**) {
  CertCache cache(8);
  const std::string& der = g_fx->ders[1];
  X509* first = nullptr;
  X509* second = nullptr;
  int cmp_original = -1;
  {
    X509Ptr a = cache.Parse(Bytes(der), der.size());
    X509Ptr b = cache.Parse(Bytes(der), der.size());
    first = a.get();
    second = b.get();
    cmp_original = a && b ? X509_cmp(a.get(), b.get()) : -1;
  }
  assert_non_null(first);
  assert_ptr_equal(first, second);  // parsed once, shared
  assert_int_equal(cmp_original, 0);
  assert_int_equal(cache.size(), 1);
  assert_int_equal(cache.misses(), 1);
  assert_int_equal(cache.hits(), 1);
  // Other bytes: another object.
  const std::string& other = g_fx->ders[2];
  bool distinct = false;
  {
    X509Ptr a = cache.Parse(Bytes(der), der.size());
    X509Ptr c = cache.Parse(Bytes(other), other.size());
    distinct = c && a.get() != c.get() && X509_cmp(a.get(), c.get()) != 0;
  }
  assert_true(distinct);
  assert_int_equal(cache.size(), 2);
}

void TestOnlyExactlyOneCertificate(void**) {
  CertCache cache(8);
  const std::string& der = g_fx->ders[1];
  const std::string trailing = der + std::string("\0", 1);
  const std::string truncated = der.substr(0, der.size() - 1);
  const std::string garbage(300, 'x');
  bool t = cache.Parse(Bytes(trailing), trailing.size()) != nullptr;
  bool u = cache.Parse(Bytes(truncated), truncated.size()) != nullptr;
  bool g = cache.Parse(Bytes(garbage), garbage.size()) != nullptr;
  bool e = cache.Parse(Bytes(der), 0) != nullptr;
  assert_false(t);
  assert_false(u);
  assert_false(g);
  assert_false(e);
  assert_int_equal(cache.size(), 0);  // failures are never cached
  assert_int_equal(ERR_peek_error(), 0);
  // A certificate whose first bytes equal a cached one is not confused with it.
  bool ok = cache.Parse(Bytes(der), der.size()) != nullptr;
  bool u2 = cache.Parse(Bytes(truncated), truncated.size()) != nullptr;
  assert_true(ok);
  assert_false(u2);
}

void TestBoundedLeastRecentlyUsed(void**) {
  CertCache cache(2);
  const std::string &a = g_fx->ders[1], &b = g_fx->ders[2], &c = g_fx->ders[3];
  X509* a_obj = nullptr;
  X509* a_again = nullptr;
  X509* b_again = nullptr;
  bool kept_alive = false;
  {
    X509Ptr held_b = cache.Parse(Bytes(b), b.size());
    X509Ptr pa = cache.Parse(Bytes(a), a.size());
    a_obj = pa.get();
    cache.Parse(Bytes(a), a.size());  // a is now the most recent
    cache.Parse(Bytes(c), c.size());  // evicts b, the least recently used
    X509Ptr pa2 = cache.Parse(Bytes(a), a.size());
    a_again = pa2.get();
    X509Ptr pb2 = cache.Parse(Bytes(b), b.size());  // parsed anew
    b_again = pb2.get();
    // The evicted object still belongs to whoever holds it.
    kept_alive = held_b && X509_cmp(held_b.get(), pb2.get()) == 0 && held_b.get() != pb2.get();
  }
  assert_ptr_equal(a_obj, a_again);
  assert_non_null(b_again);
  assert_true(kept_alive);
  assert_int_equal(cache.size(), 2);
  assert_int_equal(cache.misses(), 4);  // b, a, c, b again
  assert_int_equal(cache.hits(), 2);
}

// Many threads asking for the same few certificates (TSan in CI watches).
// CertSha256 is the SHA-256 of the DER, for a certificate from the cache
// (remembered at its parse), one parsed elsewhere, and a copy.
void TestCertSha256(void**) {
  CertCache cache(8);
  for (const std::string& der : g_fx->ders) {
    unsigned char want[32], got[32];
    unsigned int n = 0;
    assert_int_equal(EVP_Digest(der.data(), der.size(), want, &n, EVP_sha256(), nullptr), 1);
    X509Ptr cached = cache.Parse(Bytes(der), der.size());
    assert_non_null(cached.get());
    for (int i = 0; i < 2; ++i) {  // the parse, then the hit
      assert_true(CertSha256(cached.get(), got));
      assert_memory_equal(got, want, 32);
      cached = cache.Parse(Bytes(der), der.size());
    }
    const unsigned char* p = Bytes(der);
    X509Ptr plain(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    assert_true(CertSha256(plain.get(), got));
    assert_memory_equal(got, want, 32);
    X509Ptr copy(X509_dup(cached.get()));
    assert_true(CertSha256(copy.get(), got));
    assert_memory_equal(got, want, 32);
  }
  unsigned char out[32];
  assert_false(CertSha256(nullptr, out));
}

void TestThreads(void**) {
  CertCache cache(3);  // smaller than the set: evictions race with hits
  std::vector<std::thread> threads;
  std::vector<int> bad(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, &bad, t]() {
      for (int i = 0; i < 200; ++i) {
        const std::string& der = g_fx->ders[static_cast<size_t>((i + t) % 4)];
        X509Ptr x = cache.Parse(Bytes(der), der.size());
        if (!x || Der(x.get()) != der || X509_get0_pubkey(x.get()) == nullptr) ++bad[t];
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int b : bad) assert_int_equal(b, 0);
  assert_true(cache.size() <= 3);
  assert_int_equal(cache.hits() + cache.misses(), 800);
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestSameBytesSameObject),
      cmocka_unit_test(TestOnlyExactlyOneCertificate),
      cmocka_unit_test(TestBoundedLeastRecentlyUsed),
      cmocka_unit_test(TestCertSha256),
      cmocka_unit_test(TestThreads),
  };
  return cmocka_run_group_tests(tests, SetUp, TearDown);
}
