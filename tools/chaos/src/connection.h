// One proxied connection: the client socket, the upstream socket and two
// pipes (upstream: client -> server, downstream: server -> client), each a
// chain of toxic stages in creation order ending in a socket writer.
//
// Lives on one worker; every method runs on that worker's thread (post to it
// from elsewhere). The proxy's ProxyCore holds it until Finish(), so a
// connection whose only pending work is a toxic's timer stays alive.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "chaos_metrics.h"
#include "data_plane.h"
#include "stage.h"

namespace keel::chaos {

class Connection;
using ToxicList = std::vector<std::shared_ptr<const ToxicEntry>>;

// What a proxy shares with its connections; outlives the Proxy if needed.
struct ProxyCore {
  std::string name;
  ProxyMetrics metrics;
  std::mutex mu;
  std::string upstream;                                        // GUARDED_BY(mu)
  std::shared_ptr<const ToxicList> toxics;                     // GUARDED_BY(mu)
  bool accepting = false;                                      // GUARDED_BY(mu)
  std::map<Connection*, std::shared_ptr<Connection>> conns;    // GUARDED_BY(mu)
};

class Connection;

// One direction of a connection.
class Pipe final : public StageHost {
 public:
  Pipe(Connection& conn, asio::ip::tcp::socket& from, asio::ip::tcp::socket& to, Stream stream,
       obs::Counter* bytes);
  void StartReading() { MaybeRead(); }
  // Makes the chain match `toxics` (this stream's, in creation order).
  void SetToxics(const ToxicList& toxics);
  bool finished() const { return finished_; }

  void Forward(const Stage* from, Chunk chunk) override;
  void Discard(std::size_t bytes) override;
  void ResetPeers() override;
  void CloseNow() override;
  asio::io_context& context() override;
  Rng& rng() override;

 private:
  static constexpr std::size_t kReadSize = 64 * 1024;
  // Reading stops while this much is read but not yet written (or dropped).
  static constexpr std::size_t kMaxBuffered = 4 * 1024 * 1024;

  void MaybeRead();
  void OnRead(const boost::system::error_code& ec, std::size_t n);
  void Enter(Chunk chunk);
  void Deliver(Chunk chunk);
  void Pump();
  void OnWritten(const boost::system::error_code& ec, std::size_t n, std::size_t chunks);

  Connection& conn_;
  asio::ip::tcp::socket& from_;
  asio::ip::tcp::socket& to_;
  const Stream stream_;
  obs::Counter* const bytes_;
  std::vector<std::shared_ptr<Stage>> chain_;
  std::vector<char> buf_;
  std::deque<Chunk> queue_;  // waiting for the socket
  std::size_t buffered_ = 0;
  bool reading_ = false;
  bool writing_ = false;
  bool direct_write_ = false;
  bool read_eof_ = false;
  End end_ = End::kNone;  // end marker reached the writer
  bool finished_ = false;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Worker& worker, asio::ip::tcp::socket client, std::shared_ptr<ProxyCore> core);
  ~Connection();

  // Dials the upstream, then starts both pipes.
  void Start();
  // Re-reads the proxy's toxics and updates both chains.
  void RefreshToxics();
  // Closes both sockets now; with reset, peers get an RST (SO_LINGER 0).
  void Abort(bool reset);
  // The pipe has written its end marker: half-close its destination.
  void PipeFinished(Pipe& pipe, asio::ip::tcp::socket& to);
  bool closed() const { return closed_; }
  Worker& worker() { return worker_; }

 private:
  void OnConnected(const boost::system::error_code& ec);
  void Finish();

  Worker& worker_;
  std::shared_ptr<ProxyCore> core_;
  asio::ip::tcp::socket client_;
  asio::ip::tcp::socket upstream_;
  asio::ip::tcp::resolver resolver_;
  Pipe up_;
  Pipe down_;
  bool closed_ = false;
  bool started_ = false;
};

}  // namespace keel::chaos
