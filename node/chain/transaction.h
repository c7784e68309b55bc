// Signed transactions: their signing bytes, hash, checks and construction.
#pragma once

#include <string>

#include "node/chain/crypto.h"
#include "proto/chain.pb.h"

namespace ringchain::chain {

using transaction = chainpb::Transaction;

// Why a transaction was refused; told to the client as is.
enum class tx_error {
  none,
  bad_sender,     // the sender is not a 32-byte public key
  bad_signature,  // the signature does not verify (or is not 64 bytes)
  payload_too_large,
  bad_payload,   // the payload is not a key-value write with a key
  replay,        // this sender's nonce was already used
  mempool_full,  // back off and retry
};
// A sentence for the error, told to the client; "ok" for none.
const char* to_string(tx_error e);

// The bytes a sender signs: a domain tag, the sender, the nonce
// (little-endian) and the SHA-256 of the payload.
std::string signing_bytes(const transaction& tx);

// The transaction's identity: SHA-256 of its signing bytes and signature.
hash tx_hash(const transaction& tx);

// Checks sizes and the payload's form, not the signature.
tx_error check_shape(const transaction& tx);
// check_shape, then the signature: what a node does once, where a
// transaction enters the cluster.
tx_error verify(const transaction& tx);

// A signed key-value write, for clients and load generators.
transaction make_transaction(const key_pair& sender, std::uint64_t nonce, std::string_view key,
                             std::string_view value);

}  // namespace ringchain::chain
