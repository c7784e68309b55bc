// TLS for the node's connections, with OpenSSL 3 driven through memory BIOs:
// the reactor moves ciphertext (so both I/O backends keep their model and
// their syscall counts), OpenSSL only transforms bytes. These kernels have
// no kTLS, so records are encrypted and decrypted on the loop thread.
//
// Peer connections use mutual TLS under one cluster CA. A node's
// certificate names its id in its subject's common name,
// "ringchain-node-<id>"; a peer whose certificate names another node than
// its hello (or than the node this one dialled) is refused.
// scripts/make-certs.sh makes the CA and the node certificates.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "node/base/result.h"

struct ssl_ctx_st;
struct ssl_st;
struct bio_st;

namespace ringchain::net {

// Where a node's TLS material is: PEM files.
struct tls_files {
  // The cluster CA's certificate (the only one trusted).
  std::string ca;
  // This node's certificate.
  std::string cert;
  // This node's private key, the certificate's pair.
  std::string key;
};

// The common name a node's certificate carries.
std::string certificate_name(std::uint64_t node_id);

// Certificates, keys and settings shared by every session of one kind.
class tls_context {
 public:
  // Loads the files; with `require_peer_certificate` (mutual TLS) every
  // peer must present a certificate the CA signed. The error names the
  // file and OpenSSL's reason.
  static base::result<std::unique_ptr<tls_context>> load(const tls_files& files,
                                                         bool require_peer_certificate);
  // Releases this object's reference to OpenSSL's context.
  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  // The node id this node's own certificate names (0 when it names none).
  std::uint64_t own_node() const { return own_node_; }
  // OpenSSL's context.
  ssl_ctx_st* native() const { return ctx_; }

 private:
  tls_context() = default;
  ssl_ctx_st* ctx_ = nullptr;
  std::uint64_t own_node_ = 0;
};

// One connection's TLS state: ciphertext in and out through memory BIOs.
class tls_session {
 public:
  // `server`: this side accepted the connection.
  tls_session(tls_context& ctx, bool server);
  // Frees the OpenSSL session and, with it, its two BIOs.
  ~tls_session();
  tls_session(const tls_session&) = delete;
  tls_session& operator=(const tls_session&) = delete;

  // Starts the handshake (the client's first flight; a no-op for servers).
  base::status start();
  // Takes ciphertext from the socket and appends what it decrypts to
  // *plain; advances the handshake. An error: the peer is not speaking
  // TLS, failed verification, or sent records that do not decrypt.
  base::status feed(std::span<const char> cipher, std::string* plain);
  // Encrypts bytes for sending (only once established()).
  base::status write(std::string_view plain);
  // Moves the ciphertext waiting to be sent into *out (appends).
  void drain(std::string* out);
  // Whether the handshake has finished.
  bool established() const { return established_; }
  // The node id the peer's verified certificate names (0: none, or not
  // established yet).
  std::uint64_t peer_node() const { return peer_node_; }

 private:
  base::status advance_handshake();

  ssl_st* ssl_ = nullptr;
  bio_st* in_ = nullptr;   // ciphertext from the socket, read by OpenSSL
  bio_st* out_ = nullptr;  // ciphertext written by OpenSSL, to the socket
  bool established_ = false;
  std::uint64_t peer_node_ = 0;
};

}  // namespace ringchain::net
