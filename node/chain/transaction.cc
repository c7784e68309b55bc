#include "node/chain/transaction.h"

#include "node/base/limits.h"

namespace ringchain::chain {

const char* to_string(tx_error e) {
  switch (e) {
    case tx_error::none: return "ok";
    case tx_error::bad_sender: return "sender is not a 32-byte Ed25519 public key";
    case tx_error::bad_signature: return "signature does not verify";
    case tx_error::payload_too_large: return "payload above the size limit";
    case tx_error::bad_payload: return "payload is not a key-value write with a key";
    case tx_error::replay: return "nonce already used by this sender (replay)";
    case tx_error::mempool_full: return "mempool full, retry later";
  }
  return "?";
}

std::string signing_bytes(const transaction& tx) {
  std::string out = "ringchain-tx-v1";
  out += tx.sender();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((tx.nonce() >> (8 * i)) & 0xff));
  out += as_bytes(sha256({tx.payload()}));
  return out;
}

hash tx_hash(const transaction& tx) {
  return sha256({signing_bytes(tx), tx.signature()});
}

tx_error check_shape(const transaction& tx) {
  if (tx.sender().size() != public_key_bytes) return tx_error::bad_sender;
  if (tx.signature().size() != signature_bytes) return tx_error::bad_signature;
  if (tx.payload().size() > limits::tx_payload_bytes_max) return tx_error::payload_too_large;
  chainpb::KvWrite w;
  if (!w.ParseFromString(tx.payload()) || w.key().empty()) return tx_error::bad_payload;
  return tx_error::none;
}

tx_error verify(const transaction& tx) {
  if (tx_error e = check_shape(tx); e != tx_error::none) return e;
  return chain::verify(tx.sender(), signing_bytes(tx), tx.signature()) ? tx_error::none
                                                                       : tx_error::bad_signature;
}

transaction make_transaction(const key_pair& sender, std::uint64_t nonce, std::string_view key,
                             std::string_view value) {
  chainpb::KvWrite w;
  w.set_key(std::string(key));
  w.set_value(std::string(value));
  transaction tx;
  tx.set_payload(w.SerializeAsString());
  tx.set_sender(sender.public_key);
  tx.set_nonce(nonce);
  tx.set_signature(sign(sender.private_key, signing_bytes(tx)));
  return tx;
}

}  // namespace ringchain::chain
