#include "node/chain/crypto.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <string>
#include <unordered_map>

#include "node/base/assert.h"

namespace ringchain::chain {
namespace {

struct md_ctx_free {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct pkey_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_free>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

key_pair raw_keys(EVP_PKEY* pkey) {
  key_pair kp;
  kp.public_key.resize(public_key_bytes);
  kp.private_key.resize(private_key_bytes);
  std::size_t pub_len = public_key_bytes;
  std::size_t priv_len = private_key_bytes;
  RC_ASSERT(EVP_PKEY_get_raw_public_key(
                pkey, reinterpret_cast<unsigned char*>(kp.public_key.data()), &pub_len) == 1);
  RC_ASSERT(EVP_PKEY_get_raw_private_key(
                pkey, reinterpret_cast<unsigned char*>(kp.private_key.data()), &priv_len) == 1);
  return kp;
}

// An imported Ed25519 key, looked up by its raw bytes in a per-thread cache.
// Importing is costly (a private key's import derives the public key, half
// the cost of a signature), and signers and verifiers meet the same few
// keys over and over. Failed imports (malformed keys) are not cached.
EVP_PKEY* imported_key(std::string_view raw, bool is_private) {
  // Bounded: past this many keys a thread's cache starts over.
  constexpr std::size_t imported_keys_max = 4096;
  thread_local std::unordered_map<std::string, pkey_ptr> cache[2];
  auto& keys = cache[is_private ? 1 : 0];
  const std::string k(raw);
  if (auto it = keys.find(k); it != keys.end()) return it->second.get();
  pkey_ptr pkey(
      is_private
          ? EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, bytes_of(raw), raw.size())
          : EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes_of(raw), raw.size()));
  if (!pkey) return nullptr;
  if (keys.size() >= imported_keys_max) keys.clear();
  return keys.emplace(k, std::move(pkey)).first->second.get();
}

}  // namespace

hash sha256(std::initializer_list<std::string_view> parts) {
  // The digest is fetched once: EVP_sha256() per call would look it up in
  // the provider tables every time.
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local md_ctx_ptr ctx(EVP_MD_CTX_new());
  RC_ASSERT(md != nullptr && ctx != nullptr);
  RC_ASSERT(EVP_DigestInit_ex2(ctx.get(), md, nullptr) == 1);
  for (std::string_view p : parts) RC_ASSERT(EVP_DigestUpdate(ctx.get(), p.data(), p.size()) == 1);
  hash out{};
  unsigned int len = 0;
  RC_ASSERT(EVP_DigestFinal_ex(ctx.get(), out.data(), &len) == 1 && len == hash_bytes);
  return out;
}

std::string_view as_bytes(const hash& h) {
  return {reinterpret_cast<const char*>(h.data()), h.size()};
}

std::string to_hex(std::string_view bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  const auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = digit(hex[i]);
    const int lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

key_pair generate_key_pair() {
  std::string seed(private_key_bytes, '\0');
  RC_ASSERT(RAND_bytes(reinterpret_cast<unsigned char*>(seed.data()),
                       static_cast<int>(seed.size())) == 1);
  return key_pair_from_seed(seed);
}

key_pair key_pair_from_seed(std::string_view seed32) {
  RC_ASSERT(seed32.size() == private_key_bytes);
  // An Ed25519 private key is its 32-byte seed (RFC 8032).
  pkey_ptr pkey(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, bytes_of(seed32), seed32.size()));
  RC_ASSERT(pkey != nullptr);
  return raw_keys(pkey.get());
}

std::string sign(std::string_view private_key, std::string_view message) {
  RC_ASSERT(private_key.size() == private_key_bytes);
  EVP_PKEY* pkey = imported_key(private_key, true);
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  RC_ASSERT(pkey && ctx);
  std::string sig(signature_bytes, '\0');
  std::size_t len = sig.size();
  RC_ASSERT(EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey) == 1);
  RC_ASSERT(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                           bytes_of(message), message.size()) == 1);
  RC_ASSERT(len == signature_bytes);
  return sig;
}

bool verify(std::string_view public_key, std::string_view message, std::string_view signature) {
  if (public_key.size() != public_key_bytes || signature.size() != signature_bytes) return false;
  EVP_PKEY* pkey = imported_key(public_key, false);
  if (!pkey) return false;
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey) != 1) return false;
  return EVP_DigestVerify(ctx.get(), bytes_of(signature), signature.size(), bytes_of(message),
                          message.size()) == 1;
}

}  // namespace ringchain::chain
