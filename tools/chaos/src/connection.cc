#include "connection.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "keel/base/units.h"
#include "keel/obs/log.h"

namespace keel::chaos {

using boost::system::error_code;
using asio::ip::tcp;

Pipe::Pipe(Connection& conn, tcp::socket& from, tcp::socket& to, Stream stream,
           obs::Counter* bytes)
    : conn_(conn), from_(from), to_(to), stream_(stream), bytes_(bytes), buf_(kReadSize) {}

void Pipe::SetToxics(const ToxicList& toxics) {
  auto wanted = [&](std::uint64_t id) -> const std::shared_ptr<const ToxicEntry>* {
    for (const auto& t : toxics) {
      if (t->id == id && t->spec.stream == stream_) return &t;
    }
    return nullptr;
  };
  for (std::size_t i = 0; i < chain_.size();) {
    const auto* w = wanted(chain_[i]->entry()->id);
    if (w == nullptr) {
      auto stage = chain_[i];
      stage->Drain();  // hands held data to chain_[i + 1] (or the writer)
      chain_.erase(chain_.begin() + static_cast<std::ptrdiff_t>(i));
      continue;
    }
    if (*w != chain_[i]->entry()) chain_[i]->Update(*w);
    ++i;
  }
  // Toxics are appended in creation order, so new ones go at the end.
  for (const auto& t : toxics) {
    if (t->spec.stream != stream_) continue;
    bool present = false;
    for (const auto& s : chain_) present |= s->entry()->id == t->id;
    if (!present) chain_.push_back(MakeStage(*this, t));
  }
}

void Pipe::MaybeRead() {
  if (reading_ || read_eof_ || conn_.closed() || buffered_ >= kMaxBuffered) return;
  if (direct_write_) return;  // buf_ is being written from
  reading_ = true;
  from_.async_read_some(asio::buffer(buf_),
                        [self = conn_.shared_from_this(), this](const error_code& ec,
                                                                std::size_t n) {
                          reading_ = false;
                          OnRead(ec, n);
                        });
}

void Pipe::OnRead(const error_code& ec, std::size_t n) {
  if (conn_.closed()) return;
  if (ec) {
    if (ec != asio::error::eof) return conn_.Abort(false);
    read_eof_ = true;
    return Enter(Chunk{{}, Clock::now(), End::kEof});
  }
  buffered_ += n;
  if (chain_.empty() && queue_.empty() && !writing_ && end_ == End::kNone) {
    // No toxics and nothing queued: write straight from the read buffer.
    writing_ = true;
    direct_write_ = true;
    asio::async_write(to_, asio::buffer(buf_.data(), n),
                      [self = conn_.shared_from_this(), this](const error_code& wec,
                                                              std::size_t w) {
                        OnWritten(wec, w, 0);
                      });
    return;
  }
  Enter(Chunk{std::vector<char>(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(n)),
              Clock::now(), End::kNone});
  MaybeRead();
}

void Pipe::Enter(Chunk chunk) {
  if (chain_.empty()) return Deliver(std::move(chunk));
  chain_.front()->Push(std::move(chunk));
}

void Pipe::Forward(const Stage* from, Chunk chunk) {
  if (conn_.closed()) return;
  for (std::size_t i = 0; i < chain_.size(); ++i) {
    if (chain_[i].get() != from) continue;
    if (i + 1 < chain_.size()) return chain_[i + 1]->Push(std::move(chunk));
    return Deliver(std::move(chunk));
  }
  Discard(chunk.data.size());  // from a stage no longer in the chain
}

void Pipe::Deliver(Chunk chunk) {
  if (end_ != End::kNone) return Discard(chunk.data.size());
  if (chunk.end != End::kNone) {
    end_ = chunk.end;
  } else if (!chunk.data.empty()) {
    queue_.push_back(std::move(chunk));
  }
  Pump();
}

void Pipe::Pump() {
  if (writing_ || conn_.closed() || finished_) return;
  if (queue_.empty()) {
    if (end_ == End::kEof) {
      finished_ = true;
      conn_.PipeFinished(*this, to_);
    } else if (end_ == End::kClose) {
      finished_ = true;
      conn_.Abort(false);
    }
    return;
  }
  // Gather what is queued into one write.
  std::vector<asio::const_buffer> bufs;
  std::size_t chunks = std::min<std::size_t>(queue_.size(), 64);
  bufs.reserve(chunks);
  for (std::size_t i = 0; i < chunks; ++i) bufs.push_back(asio::buffer(queue_[i].data));
  writing_ = true;
  asio::async_write(to_, bufs,
                    [self = conn_.shared_from_this(), this, chunks](const error_code& ec,
                                                                    std::size_t n) {
                      OnWritten(ec, n, chunks);
                    });
}

void Pipe::OnWritten(const error_code& ec, std::size_t n, std::size_t chunks) {
  writing_ = false;
  direct_write_ = false;
  if (conn_.closed()) return;
  if (ec) return conn_.Abort(false);
  bytes_->Inc(n);
  buffered_ -= n;
  for (std::size_t i = 0; i < chunks; ++i) queue_.pop_front();
  Pump();
  MaybeRead();
}

void Pipe::Discard(std::size_t bytes) {
  buffered_ -= std::min(bytes, buffered_);
  MaybeRead();
}

void Pipe::ResetPeers() { conn_.Abort(true); }
void Pipe::CloseNow() { conn_.Abort(false); }
asio::io_context& Pipe::context() { return conn_.worker().ctx; }
Rng& Pipe::rng() { return conn_.worker().rng; }

Connection::Connection(Worker& worker, tcp::socket client, std::shared_ptr<ProxyCore> core)
    : worker_(worker), core_(std::move(core)), client_(std::move(client)),
      upstream_(worker.ctx), resolver_(worker.ctx),
      up_(*this, client_, upstream_, Stream::kUpstream, core_->metrics.bytes_upstream),
      down_(*this, upstream_, client_, Stream::kDownstream, core_->metrics.bytes_downstream) {
  core_->metrics.connections->Inc();
  core_->metrics.connections_open->Add(1);
}

Connection::~Connection() { core_->metrics.connections_open->Add(-1); }

void Connection::Start() {
  if (closed_) return;
  std::string upstream;
  {
    std::lock_guard lock(core_->mu);
    upstream = core_->upstream;
  }
  RefreshToxics();
  auto hp = ParseHostPort(upstream);
  if (!hp.ok()) {
    obs::Log(obs::LogLevel::kWarn, "bad upstream", {{"proxy", core_->name}, {"upstream", upstream}});
    return Abort(false);
  }
  error_code ec;
  auto addr = asio::ip::make_address(hp->host, ec);
  if (!ec) {
    upstream_.async_connect(tcp::endpoint(addr, hp->port),
                            [self = shared_from_this()](const error_code& cec) {
                              self->OnConnected(cec);
                            });
    return;
  }
  resolver_.async_resolve(hp->host, std::to_string(hp->port),
                          [self = shared_from_this()](const error_code& rec,
                                                      tcp::resolver::results_type results) {
                            if (rec || self->closed_) return self->OnConnected(rec);
                            asio::async_connect(self->upstream_, results,
                                                [self](const error_code& cec, const tcp::endpoint&) {
                                                  self->OnConnected(cec);
                                                });
                          });
}

void Connection::OnConnected(const error_code& ec) {
  if (closed_) return;
  if (ec) {
    obs::Log(obs::LogLevel::kDebug, "upstream connect failed",
             {{"proxy", core_->name}, {"error", ec.message()}});
    return Abort(false);
  }
  error_code ignored;
  client_.set_option(tcp::no_delay(true), ignored);
  upstream_.set_option(tcp::no_delay(true), ignored);
  started_ = true;
  up_.StartReading();
  down_.StartReading();
}

void Connection::RefreshToxics() {
  if (closed_) return;
  std::shared_ptr<const ToxicList> toxics;
  {
    std::lock_guard lock(core_->mu);
    toxics = core_->toxics;
  }
  static const ToxicList kNone;
  up_.SetToxics(toxics ? *toxics : kNone);
  if (closed_) return;
  down_.SetToxics(toxics ? *toxics : kNone);
}

void Connection::PipeFinished(Pipe&, tcp::socket& to) {
  error_code ignored;
  to.shutdown(tcp::socket::shutdown_send, ignored);
  if (up_.finished() && down_.finished()) Abort(false);
}

void Connection::Abort(bool reset) {
  if (closed_) return;
  closed_ = true;
  error_code ignored;
  for (tcp::socket* s : {&client_, &upstream_}) {
    if (reset && s->is_open()) s->set_option(asio::socket_base::linger(true, 0), ignored);
    s->close(ignored);
  }
  resolver_.cancel();
  Finish();
}

void Connection::Finish() {
  std::shared_ptr<Connection> keep;
  {
    std::lock_guard lock(core_->mu);
    auto it = core_->conns.find(this);
    if (it == core_->conns.end()) return;
    keep = std::move(it->second);
    core_->conns.erase(it);
  }
  // The caller may be a stage's timer handler that holds no reference: drop
  // the last one later, not under its feet.
  asio::post(worker_.ctx, [keep = std::move(keep)] {});
}

}  // namespace keel::chaos
