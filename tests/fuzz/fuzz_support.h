// What the libFuzzer targets of tests/fuzz share: a reader over the
// fuzzer's input, a check macro for the targets' own invariants, and every
// check the chain offers for one block.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "node/chain/block.h"

namespace ringchain::fuzz {

// Stops the run with a message when an invariant of a target does not hold:
// libFuzzer sees the abort as a crash and keeps the input.
[[noreturn]] void check_failed(const char* cond, const char* file, int line, const char* what);

#define FUZZ_CHECK(cond, what)                                                     \
  do {                                                                             \
    if (!(cond)) ::ringchain::fuzz::check_failed(#cond, __FILE__, __LINE__, what); \
  } while (0)

// Reads the fuzzer's input front to back; past its end every read gives
// zeros (or nothing), so a short input is still a valid input.
class input {
 public:
  input(const std::uint8_t* data, std::size_t size)
      : data_(reinterpret_cast<const char*>(data), size) {}

  std::uint8_t byte() {
    if (pos_ >= data_.size()) return 0;
    return static_cast<std::uint8_t>(data_[pos_++]);
  }
  // Little-endian, `n` bytes (at most 8).
  std::uint64_t uint(int n) {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= std::uint64_t{byte()} << (8 * i);
    return v;
  }
  // Up to `n` bytes.
  std::string_view take(std::size_t n) {
    const std::string_view out = data_.substr(pos_, n);
    pos_ += out.size();
    return out;
  }
  std::string_view rest() { return take(data_.size()); }
  std::size_t remaining() const { return data_.size() - pos_; }

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
};

// The fixed chain the targets check blocks against: a fresh ledger's tip
// (height 0, a hash of zeros), so a block of height 1 naming 32 zero bytes
// as its predecessor links.
inline constexpr std::uint64_t first_height = 1;

// Every check the chain offers for `b`: the header hash, check_link against
// the fixed tip and against the block's own claims (the transaction count
// and the Merkle root recomputed from the transactions), make_block over
// its transactions, the shape of each transaction and, for at most
// `signatures_max` of them, the signature, and ledger::apply on a scratch
// ledger. Returns whether the block applied. Cross-checks what it can and
// stops the run (FUZZ_CHECK) when two answers disagree.
bool check_block(const chain::block& b, int signatures_max);

// A key pair derived from a fixed seed, and a block of `txs` signed
// transactions at `height` after `prev` (for seeds and restored logs).
const chain::key_pair& test_key();
chain::block test_block(std::uint64_t height, const chain::hash& prev, int txs,
                        std::uint64_t first_nonce);

}  // namespace ringchain::fuzz
