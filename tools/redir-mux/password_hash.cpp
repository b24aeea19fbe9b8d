#include "password_hash.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <charconv>
#include <cstdint>
#include <map>
#include <vector>

namespace vredir {

namespace {

constexpr size_t kSaltBytes = 16;
constexpr size_t kKeyBytes = 32;
// Caps on stored parameters: 2^20 * 8 * 128 = 1 GiB would already be absurd.
constexpr unsigned kMaxLog2N = 20;
constexpr unsigned kMaxR = 32;
constexpr unsigned kMaxP = 16;
constexpr unsigned kMaxIterations = 10000000;
constexpr uint64_t kMaxScryptMemory = 512ull << 20;

std::string b64(const std::vector<uint8_t>& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), in.data(), static_cast<int>(in.size()));
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

bool unb64(std::string_view in, std::vector<uint8_t>* out) {
  if (in.empty() || in.size() % 4 != 0 || in.size() > 256) return false;
  out->assign(in.size() / 4 * 3, 0);
  int n = EVP_DecodeBlock(out->data(), reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return false;
  size_t pad = 0;
  if (in.back() == '=') ++pad;
  if (in.size() >= 2 && in[in.size() - 2] == '=') ++pad;
  out->resize(static_cast<size_t>(n) - pad);
  return true;
}

bool derive(const char* kdf_name, std::vector<OSSL_PARAM> extra, std::string_view password,
            const std::vector<uint8_t>& salt, std::vector<uint8_t>* key, size_t key_len) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, kdf_name, nullptr);
  if (!kdf) return false;
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (!ctx) return false;
  std::string pw(password);  // OSSL_PARAM wants a non-const pointer
  std::vector<uint8_t> s(salt);
  extra.push_back(OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, pw.data(), pw.size()));
  extra.push_back(OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, s.data(), s.size()));
  extra.push_back(OSSL_PARAM_construct_end());
  key->assign(key_len, 0);
  bool ok = EVP_KDF_derive(ctx, key->data(), key->size(), extra.data()) == 1;
  EVP_KDF_CTX_free(ctx);
  OPENSSL_cleanse(pw.data(), pw.size());
  return ok;
}

bool scrypt_key(std::string_view password, const std::vector<uint8_t>& salt, const ScryptParams& p,
                std::vector<uint8_t>* key, size_t key_len) {
  uint64_t n = 1ull << p.log2_n;
  uint32_t r = p.r, par = p.p;
  uint64_t maxmem = kMaxScryptMemory;
  std::vector<OSSL_PARAM> params = {
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &par),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
  };
  return derive("SCRYPT", std::move(params), password, salt, key, key_len);
}

bool pbkdf2_key(std::string_view password, const std::vector<uint8_t>& salt, unsigned iterations,
                std::vector<uint8_t>* key, size_t key_len) {
  uint32_t iter = iterations;
  char digest[] = "SHA256";
  std::vector<OSSL_PARAM> params = {
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_ITER, &iter),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
  };
  return derive("PBKDF2", std::move(params), password, salt, key, key_len);
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  return out;
}

bool parse_uint(std::string_view s, unsigned* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

// "a=1,b=2" -> map; false on any malformed item.
bool parse_kv(std::string_view s, std::map<std::string, unsigned>* out) {
  for (std::string_view item : split(s, ',')) {
    size_t eq = item.find('=');
    unsigned v = 0;
    if (eq == std::string_view::npos || !parse_uint(item.substr(eq + 1), &v)) return false;
    (*out)[std::string(item.substr(0, eq))] = v;
  }
  return true;
}

struct Parsed {
  bool scrypt = true;
  ScryptParams sp;
  unsigned iterations = 0;
  std::vector<uint8_t> salt, key;
};

bool parse_hash(std::string_view stored, Parsed* out, std::string* err) {
  auto bad = [&](const std::string& why) {
    if (err) *err = why;
    return false;
  };
  std::vector<std::string_view> parts = split(stored, '$');
  if (parts.size() != 5 || !parts[0].empty()) return bad("not a password hash ($ALG$PARAMS$SALT$HASH)");
  std::map<std::string, unsigned> kv;
  if (!parse_kv(parts[2], &kv)) return bad("malformed hash parameters");
  if (parts[1] == "scrypt") {
    if (kv.size() != 3 || !kv.count("ln") || !kv.count("r") || !kv.count("p")) return bad("scrypt needs ln, r and p");
    out->sp = {kv["ln"], kv["r"], kv["p"]};
    if (out->sp.log2_n < 1 || out->sp.log2_n > kMaxLog2N || out->sp.r < 1 || out->sp.r > kMaxR || out->sp.p < 1 ||
        out->sp.p > kMaxP)
      return bad("scrypt parameters out of range");
    if ((128ull << out->sp.log2_n) * out->sp.r > kMaxScryptMemory) return bad("scrypt needs too much memory");
  } else if (parts[1] == "pbkdf2-sha256") {
    if (kv.size() != 1 || !kv.count("i")) return bad("pbkdf2-sha256 needs i");
    out->scrypt = false;
    out->iterations = kv["i"];
    if (out->iterations < 1 || out->iterations > kMaxIterations) return bad("pbkdf2 iterations out of range");
  } else {
    return bad("unknown hash algorithm '" + std::string(parts[1].substr(0, 32)) + "'");
  }
  if (!unb64(parts[3], &out->salt) || out->salt.size() < 8) return bad("malformed salt");
  if (!unb64(parts[4], &out->key) || out->key.size() < 16 || out->key.size() > 64) return bad("malformed hash");
  return true;
}

Status random_salt(std::vector<uint8_t>* salt) {
  salt->assign(kSaltBytes, 0);
  if (RAND_bytes(salt->data(), static_cast<int>(salt->size())) != 1)
    return fail(kExitFailure, "cannot get random bytes for a salt");
  return Status::ok();
}

}  // namespace

Status hash_password(std::string_view password, std::string* out, const ScryptParams& params) {
  std::vector<uint8_t> salt, key;
  if (Status st = random_salt(&salt); !st) return st;
  if (!scrypt_key(password, salt, params, &key, kKeyBytes)) return fail(kExitFailure, "scrypt failed");
  *out = "$scrypt$ln=" + std::to_string(params.log2_n) + ",r=" + std::to_string(params.r) +
         ",p=" + std::to_string(params.p) + "$" + b64(salt) + "$" + b64(key);
  return Status::ok();
}

Status hash_password_pbkdf2(std::string_view password, std::string* out, unsigned iterations) {
  std::vector<uint8_t> salt, key;
  if (Status st = random_salt(&salt); !st) return st;
  if (!pbkdf2_key(password, salt, iterations, &key, kKeyBytes)) return fail(kExitFailure, "PBKDF2 failed");
  *out = "$pbkdf2-sha256$i=" + std::to_string(iterations) + "$" + b64(salt) + "$" + b64(key);
  return Status::ok();
}

bool is_password_hash(std::string_view stored) {
  Parsed p;
  return parse_hash(stored, &p, nullptr);
}

bool verify_password(std::string_view password, std::string_view stored, std::string* err) {
  Parsed p;
  if (!parse_hash(stored, &p, err)) return false;
  std::vector<uint8_t> key;
  bool ok = p.scrypt ? scrypt_key(password, p.salt, p.sp, &key, p.key.size())
                     : pbkdf2_key(password, p.salt, p.iterations, &key, p.key.size());
  if (!ok) {
    if (err) *err = "key derivation failed";
    return false;
  }
  return CRYPTO_memcmp(key.data(), p.key.data(), key.size()) == 0;
}

bool verify_password_dummy(std::string_view password) {
  static const std::string dummy = [] {
    std::string h;
    (void)hash_password("unknown user", &h);
    return h;
  }();
  (void)verify_password(password, dummy);
  return false;
}

}  // namespace vredir
