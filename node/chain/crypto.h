// Hashes and signatures for the chain, through OpenSSL 3.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringchain::chain {

// Bytes of a SHA-256 hash.
inline constexpr std::size_t hash_bytes = 32;
// Bytes of a raw Ed25519 public key.
inline constexpr std::size_t public_key_bytes = 32;
// Bytes of a raw Ed25519 private key (its seed).
inline constexpr std::size_t private_key_bytes = 32;
// Bytes of an Ed25519 signature.
inline constexpr std::size_t signature_bytes = 64;

using hash = std::array<unsigned char, hash_bytes>;

// SHA-256 of the concatenation of `parts`.
hash sha256(std::initializer_list<std::string_view> parts);
// The hash's bytes as a string_view, valid while `h` lives (for protobuf fields
// and hashing).
std::string_view as_bytes(const hash& h);
// Lowercase hexadecimal of `bytes`, two digits a byte.
std::string to_hex(std::string_view bytes);
// The bytes of hexadecimal text (either case, two digits a byte), or
// nothing when `hex` has an odd length or a character that is not a digit.
std::optional<std::string> from_hex(std::string_view hex);

// An Ed25519 key pair, raw 32-byte keys.
struct key_pair {
  // The raw 32-byte public key: what a transaction's sender holds.
  std::string public_key;
  // The raw 32-byte private key (the Ed25519 seed, RFC 8032) that signs.
  std::string private_key;
};

// A fresh key pair from the operating system's randomness.
key_pair generate_key_pair();
// The key pair of a 32-byte seed: the same seed gives the same keys (for
// load generators and tests that need reproducible senders).
key_pair key_pair_from_seed(std::string_view seed32);

// Signs `message` with a raw private key; returns the 64-byte signature.
std::string sign(std::string_view private_key, std::string_view message);
// Whether `signature` is a valid Ed25519 signature of `message` by
// `public_key`. Malformed keys or signatures are simply invalid.
bool verify(std::string_view public_key, std::string_view message, std::string_view signature);

}  // namespace ringchain::chain
