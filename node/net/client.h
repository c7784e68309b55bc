// A blocking client for ringchain's client protocol, for the CLI, tests
// and load generators. One request at a time per connection.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "node/base/result.h"
#include "proto/node.pb.h"

namespace ringchain::net {

// A connection to one node's client port. Calls block, each for at most
// its timeout; requests get ids from 1 on.
class client {
 public:
  client() = default;
  // Closes the connection.
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Connects to "host:port" (a name is resolved).
  base::status connect(const std::string& address, std::chrono::milliseconds timeout);

  // Sends `req` (its id is set here) and waits for the response; an error
  // when none arrives in time or the connection fails.
  base::result<nodepb::ClientResponse> call(nodepb::ClientRequest req,
                                            std::chrono::milliseconds timeout);

  // Pipelining, for load generators: send() queues a request without
  // waiting and returns its id (nothing when not connected or the send
  // failed, which closes the connection).
  std::optional<std::uint64_t> send(nodepb::ClientRequest req);
  // The next response that arrives within `timeout`, in the order the node
  // answers. An error when none does; a connection the node closed, or a
  // response above the frame bound or that does not parse, is closed.
  base::result<nodepb::ClientResponse> receive(std::chrono::milliseconds timeout);

  // Sends raw bytes, for tests that feed a node garbage.
  bool send_raw(std::string_view bytes);
  // Bytes that arrive within `timeout` (empty when none; the connection
  // is closed when the other side closed it).
  std::string receive_raw(std::chrono::milliseconds timeout);
  // Whether the node closed the connection within `timeout`.
  bool closed_by_peer(std::chrono::milliseconds timeout);

  // Closes the connection, if any, and drops what was received and not read;
  // connect() may follow.
  void close();
  // Whether a connection is open (the node may have closed its side).
  bool connected() const { return fd_ >= 0; }
  // The connected socket (-1 when none), for load generators that wait on
  // many clients at once; reading it is still done by receive().
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::uint64_t next_id_ = 1;
  std::string buffer_;
};

}  // namespace ringchain::net
