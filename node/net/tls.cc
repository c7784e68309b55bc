#include "node/net/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <charconv>

#include "node/base/assert.h"

namespace ringchain::net {

namespace {

constexpr std::string_view name_prefix = "ringchain-node-";

// OpenSSL's queued errors as one sentence (and the queue emptied).
std::string openssl_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

// The node id in a certificate's common name "ringchain-node-<id>".
std::uint64_t node_of(X509* cert) {
  if (cert == nullptr) return 0;
  char cn[128] = {};
  const int n =
      X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
  if (n <= 0) return 0;
  const std::string_view name(cn, static_cast<std::size_t>(n));
  if (name.substr(0, name_prefix.size()) != name_prefix) return 0;
  std::uint64_t id = 0;
  const char* first = name.data() + name_prefix.size();
  const char* last = name.data() + name.size();
  const auto [end, ec] = std::from_chars(first, last, id);
  return ec == std::errc() && end == last ? id : 0;
}

}  // namespace

std::string certificate_name(std::uint64_t node_id) {
  return std::string(name_prefix) + std::to_string(node_id);
}

base::result<std::unique_ptr<tls_context>> tls_context::load(const tls_files& files,
                                                             bool require_peer_certificate) {
  std::unique_ptr<tls_context> c(new tls_context());
  c->ctx_ = SSL_CTX_new(TLS_method());
  if (c->ctx_ == nullptr) return base::fail("TLS: " + openssl_errors());
  // TLS 1.3 only: one round trip, no renegotiation, modern ciphers.
  SSL_CTX_set_min_proto_version(c->ctx_, TLS1_3_VERSION);
  SSL_CTX_set_mode(c->ctx_, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_load_verify_locations(c->ctx_, files.ca.c_str(), nullptr) != 1) {
    return base::fail("TLS: cannot load the CA certificate " + files.ca + ": " + openssl_errors());
  }
  if (SSL_CTX_use_certificate_chain_file(c->ctx_, files.cert.c_str()) != 1) {
    return base::fail("TLS: cannot load the certificate " + files.cert + ": " + openssl_errors());
  }
  if (SSL_CTX_use_PrivateKey_file(c->ctx_, files.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return base::fail("TLS: cannot load the private key " + files.key + ": " + openssl_errors());
  }
  if (SSL_CTX_check_private_key(c->ctx_) != 1) {
    return base::fail("TLS: the key " + files.key + " does not match the certificate " +
                      files.cert);
  }
  const int mode = require_peer_certificate ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                            : SSL_VERIFY_NONE;
  SSL_CTX_set_verify(c->ctx_, mode, nullptr);
  c->own_node_ = node_of(SSL_CTX_get0_certificate(c->ctx_));
  return c;
}

tls_context::~tls_context() {
  SSL_CTX_free(ctx_);
}

tls_session::tls_session(tls_context& ctx, bool server) {
  ssl_ = SSL_new(ctx.native());
  RC_ASSERT(ssl_ != nullptr);
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  RC_ASSERT(in_ != nullptr && out_ != nullptr);
  // A read from an empty memory BIO means "wait for more", not end of file.
  BIO_set_mem_eof_return(in_, -1);
  SSL_set_bio(ssl_, in_, out_);  // the session owns both BIOs from here
  if (server) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
  }
}

tls_session::~tls_session() {
  SSL_free(ssl_);
}

base::status tls_session::start() {
  return advance_handshake();
}

base::status tls_session::advance_handshake() {
  if (established_) return {};
  const int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    established_ = true;
    X509* peer = SSL_get1_peer_certificate(ssl_);
    peer_node_ = node_of(peer);
    X509_free(peer);
    return {};
  }
  const int err = SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return {};
  return base::fail("TLS handshake failed: " + openssl_errors());
}

base::status tls_session::feed(std::span<const char> cipher, std::string* plain) {
  if (!cipher.empty() && BIO_write(in_, cipher.data(), static_cast<int>(cipher.size())) <= 0) {
    return base::fail("TLS: cannot buffer received bytes");
  }
  if (base::status s = advance_handshake(); !s.ok() || !established_) return s;
  char buf[16384];
  for (;;) {
    const int n = SSL_read(ssl_, buf, sizeof buf);
    if (n > 0) {
      plain->append(buf, static_cast<std::size_t>(n));
      continue;
    }
    const int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return {};
    if (err == SSL_ERROR_ZERO_RETURN) return {};  // close_notify; the socket closes next
    return base::fail("TLS record error: " + openssl_errors());
  }
}

base::status tls_session::write(std::string_view plain) {
  RC_ASSERT(established_);
  while (!plain.empty()) {
    std::size_t written = 0;
    if (SSL_write_ex(ssl_, plain.data(), plain.size(), &written) != 1) {
      return base::fail("TLS write failed: " + openssl_errors());
    }
    plain.remove_prefix(written);
  }
  return {};
}

void tls_session::drain(std::string* out) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(out_, &data);
  if (n <= 0) return;
  out->append(data, static_cast<std::size_t>(n));
  (void)BIO_reset(out_);
}

}  // namespace ringchain::net
