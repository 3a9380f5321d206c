#include "keel/net/http_client.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http/error.hpp>
#include <charconv>
#include <deque>
#include <unordered_map>

#include "client_connection.h"
#include "keel/obs/log.h"

namespace keel::net {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

StatusOr<tcp::endpoint> ParseUpstream(std::string_view upstream) {
  std::string_view rest = upstream;
  if (rest.substr(0, 8) == "https://") return InvalidArgument("https is not supported: " + std::string(upstream));
  if (rest.substr(0, 7) == "http://") rest.remove_prefix(7);
  if (auto slash = rest.find('/'); slash != std::string_view::npos) rest = rest.substr(0, slash);
  auto colon = rest.rfind(':');
  if (colon == std::string_view::npos) return InvalidArgument("upstream needs host:port: " + std::string(upstream));
  std::string host(rest.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  unsigned port = 0;
  auto port_text = rest.substr(colon + 1);
  auto r = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (r.ec != std::errc() || r.ptr != port_text.data() + port_text.size() || port == 0 || port > 65535) {
    return InvalidArgument("bad port in upstream: " + std::string(upstream));
  }
  error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return InvalidArgument("upstream host must be an IP literal or localhost: " + std::string(upstream));
  return tcp::endpoint(address, static_cast<std::uint16_t>(port));
}

// A bounded name for a transport error (metric label and message).
std::string_view ErrorName(const error_code& ec) {
  namespace http = boost::beast::http;
  if (ec == http::error::body_limit || ec == http::error::header_limit) return "too_large";
  if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
      ec == asio::error::eof || ec == asio::error::connection_reset ||
      ec == asio::error::broken_pipe || ec == asio::error::connection_aborted) {
    return "reset";
  }
  if (ec.category() == error_code(http::error::bad_version).category()) {
    return "parse_error";
  }
  return "io_error";
}

}  // namespace

std::string_view ClientResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return v;
  }
  return {};
}

struct Pool;

struct Exchange {
  explicit Exchange(asio::io_context& io) : timer(io) {}
  RequestId id = 0;
  Pool* pool = nullptr;
  std::string head;  // request line and headers, without the final CRLF
  std::string body;
  bool head_method = false;
  bool timeout_header = false;
  Clock::time_point start, deadline;
  std::function<void(ClientResponse)> done;
  std::shared_ptr<ClientConnection> conn;
  bool connecting = false;
  bool retried = false;     // already resent after a stale connection
  bool fresh_only = false;  // the resend must not take an idle connection
  asio::steady_timer timer;
};

struct Pool {
  std::string upstream;
  tcp::endpoint endpoint;
  std::vector<std::shared_ptr<ClientConnection>> idle;  // LIFO: back is newest
  std::size_t total = 0;   // connecting + active + idle
  std::size_t active = 0;
  std::deque<Exchange*> queue;
  obs::Gauge* active_gauge = nullptr;
  obs::Gauge* idle_gauge = nullptr;
  obs::Histogram* duration = nullptr;
  obs::Counter* connect_ok = nullptr;
  obs::Counter* connect_error = nullptr;
  std::unordered_map<std::string, obs::Counter*> codes;
};

class HttpClient::Impl {
 public:
  Impl(asio::io_context& io, HttpClientOptions options, obs::Registry& registry)
      : io_(io), options_(std::move(options)),
        requests_(registry.AddCounter("keel_http_client_requests_total",
                                      "Client requests completed, by upstream and HTTP status "
                                      "or error (connect_error, timeout, reset, cancelled, ...).",
                                      {"upstream", "code"})),
        duration_(registry.AddHistogram("keel_http_client_request_duration_seconds",
                                        "Client request time from Send to completion.",
                                        {"upstream"})),
        connections_(registry.AddGauge("keel_http_client_connections",
                                       "Client connections by upstream and state (active|idle).",
                                       {"upstream", "state"})),
        connects_(registry.AddCounter("keel_http_client_connects_total",
                                      "Client connection attempts by upstream and result.",
                                      {"upstream", "result"})) {}

  ~Impl() {
    for (auto& [id, ex] : exchanges_) {
      if (ex->conn) ex->conn->Close();
    }
    for (auto& [name, pool] : pools_) {
      for (auto& c : pool->idle) c->Close();
      pool->active_gauge->Set(0);
      pool->idle_gauge->Set(0);
    }
  }

  RequestId Send(ClientRequest req, std::function<void(ClientResponse)> done);
  bool Cancel(RequestId id);

 private:
  StatusOr<Pool*> PoolFor(const std::string& upstream);
  void Dispatch(Exchange* ex);
  void Open(Exchange* ex);
  void OnConnected(Exchange* ex, const error_code& ec);
  void Run(Exchange* ex, std::shared_ptr<ClientConnection> conn);
  void OnResult(Exchange* ex, bool reused, ClientConnection::Result r);
  void Release(Pool& pool, std::shared_ptr<ClientConnection> conn);
  void ServeQueue(Pool& pool);
  void Detach(Exchange* ex);  // takes ex off its queue or connection
  void OnTimeout(RequestId id);
  void Complete(Exchange* ex, ClientResponse res, std::string_view code);
  void FailSoon(Exchange* ex, Status status, bool retryable, std::string_view code);
  void UpdateGauges(Pool& pool);
  obs::Counter* CodeCounter(Pool* pool, std::string_view code);

  asio::io_context& io_;
  HttpClientOptions options_;
  obs::CounterFamily& requests_;
  obs::HistogramFamily& duration_;
  obs::GaugeFamily& connections_;
  obs::CounterFamily& connects_;
  std::unordered_map<std::string, std::unique_ptr<Pool>> pools_;
  std::unordered_map<RequestId, std::unique_ptr<Exchange>> exchanges_;
  RequestId next_id_ = 0;
  // Timer and posted handlers may run after this is destroyed: they check it.
  std::shared_ptr<int> life_ = std::make_shared<int>(0);
};

StatusOr<Pool*> HttpClient::Impl::PoolFor(const std::string& upstream) {
  auto it = pools_.find(upstream);
  if (it != pools_.end()) return it->second.get();
  auto endpoint = ParseUpstream(upstream);
  if (!endpoint.ok()) return endpoint.status();
  auto pool = std::make_unique<Pool>();
  pool->upstream = upstream;
  pool->endpoint = *endpoint;
  pool->active_gauge = connections_.Get({upstream, "active"});
  pool->idle_gauge = connections_.Get({upstream, "idle"});
  pool->duration = duration_.Get({upstream});
  pool->connect_ok = connects_.Get({upstream, "ok"});
  pool->connect_error = connects_.Get({upstream, "error"});
  Pool* raw = pool.get();
  pools_.emplace(upstream, std::move(pool));
  return raw;
}

RequestId HttpClient::Impl::Send(ClientRequest req, std::function<void(ClientResponse)> done) {
  const RequestId id = ++next_id_;
  auto owned = std::make_unique<Exchange>(io_);
  Exchange* ex = owned.get();
  exchanges_.emplace(id, std::move(owned));
  ex->id = id;
  ex->done = std::move(done);
  ex->start = SystemClock::Default().Now();
  ex->deadline = req.deadline != Clock::time_point{} ? req.deadline
                                                     : ex->start + options_.request_timeout;
  auto pool = PoolFor(req.upstream);
  if (!pool.ok()) {
    FailSoon(ex, pool.status(), false, "invalid");
    return id;
  }
  ex->pool = *pool;
  if (req.method == Method::kOther) {
    FailSoon(ex, InvalidArgument("unsupported method"), false, "invalid");
    return id;
  }
  ex->head_method = req.method == Method::kHead;
  ex->timeout_header = req.send_timeout_header;
  std::string& h = ex->head;
  h.reserve(128 + req.target.size());
  h.append(MethodLabel(req.method)).append(" ").append(req.target).append(" HTTP/1.1\r\nHost: ");
  tcp::endpoint ep = ex->pool->endpoint;
  h.append(ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string());
  h.append(":").append(std::to_string(ep.port())).append("\r\n");
  if (!options_.user_agent.empty()) h.append("User-Agent: ").append(options_.user_agent).append("\r\n");
  for (const auto& [name, value] : req.headers) h.append(name).append(": ").append(value).append("\r\n");
  if (req.trace) {
    auto tp = req.trace->ToHeader();
    h.append("traceparent: ").append(tp.data(), tp.size()).append("\r\n");
  }
  if (!req.body.empty() || req.method == Method::kPost || req.method == Method::kPut ||
      req.method == Method::kPatch) {
    h.append("Content-Length: ").append(std::to_string(req.body.size())).append("\r\n");
  }
  ex->body = std::move(req.body);

  ex->timer.expires_at(ex->deadline);
  ex->timer.async_wait([this, id, life = std::weak_ptr<int>(life_)](const error_code& ec) {
    if (ec || life.expired()) return;
    OnTimeout(id);
  });
  Dispatch(ex);
  return id;
}

void HttpClient::Impl::Dispatch(Exchange* ex) {
  Pool& p = *ex->pool;
  if (!ex->fresh_only && !p.idle.empty()) {
    auto conn = std::move(p.idle.back());
    p.idle.pop_back();
    conn->StopWatching();
    Run(ex, std::move(conn));
    return;
  }
  if (p.total < options_.max_connections_per_upstream) {
    Open(ex);
    return;
  }
  if (p.queue.size() >= options_.max_queued_per_upstream) {
    FailSoon(ex, Unavailable("pool exhausted for " + p.upstream), true, "pool_exhausted");
    return;
  }
  if (ex->fresh_only) p.queue.push_front(ex);
  else p.queue.push_back(ex);
}

void HttpClient::Impl::Open(Exchange* ex) {
  Pool& p = *ex->pool;
  ++p.total;
  ex->conn = std::make_shared<ClientConnection>(io_);
  ex->connecting = true;
  auto left = ex->deadline - SystemClock::Default().Now();
  Duration timeout = std::min<Duration>(options_.connect_timeout, std::max<Duration>(left, Duration(1)));
  ex->conn->Connect(p.endpoint, timeout, [this, ex](const error_code& ec) { OnConnected(ex, ec); });
}

void HttpClient::Impl::OnConnected(Exchange* ex, const error_code& ec) {
  Pool& p = *ex->pool;
  ex->connecting = false;
  if (ec) {
    p.connect_error->Inc();
    --p.total;
    ex->conn->Close();
    ex->conn.reset();
    ClientResponse res;
    bool timeout = ec == asio::error::timed_out;
    res.status = Unavailable("connect to " + p.upstream + (timeout ? " timed out" : " failed: " + ec.message()));
    res.retryable = true;
    ServeQueue(p);  // before the callback, which may send more
    Complete(ex, std::move(res), timeout ? "connect_timeout" : "connect_error");
    return;
  }
  p.connect_ok->Inc();
  auto conn = std::move(ex->conn);
  Run(ex, std::move(conn));
}

void HttpClient::Impl::Run(Exchange* ex, std::shared_ptr<ClientConnection> conn) {
  Pool& p = *ex->pool;
  ++p.active;
  UpdateGauges(p);
  std::string wire;
  wire.reserve(ex->head.size() + ex->body.size() + 64);
  wire.append(ex->head);
  if (ex->timeout_header) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(ex->deadline - SystemClock::Default().Now());
    wire.append("x-envoy-expected-rq-timeout-ms: ")
        .append(std::to_string(std::max<std::int64_t>(1, left.count())))
        .append("\r\n");
  }
  wire.append("\r\n").append(ex->body);
  const bool reused = conn->reused();
  ex->conn = std::move(conn);
  ex->conn->Execute(std::move(wire), ex->head_method, options_.max_response_bytes,
                    [this, ex, reused](ClientConnection::Result r) {
                      OnResult(ex, reused, std::move(r));
                    });
}

void HttpClient::Impl::OnResult(Exchange* ex, bool reused, ClientConnection::Result r) {
  Pool& p = *ex->pool;
  auto conn = std::move(ex->conn);
  --p.active;
  if (r.ec) {
    conn->Close();
    --p.total;
    UpdateGauges(p);
    if (reused && r.nothing_read && !ex->retried) {
      // The peer closed a keep-alive connection we had not noticed yet.
      ex->retried = true;
      ex->fresh_only = true;
      Dispatch(ex);
      return;
    }
    std::string_view name = ErrorName(r.ec);
    ClientResponse res;
    res.status = Unavailable(std::string(name) + " from " + p.upstream + ": " + r.ec.message());
    ServeQueue(p);
    Complete(ex, std::move(res), name);
    return;
  }
  if (r.keep_alive) {
    Release(p, std::move(conn));
  } else {
    conn->Close();
    --p.total;
  }
  UpdateGauges(p);
  ClientResponse res;
  res.http_status = r.status;
  res.headers = std::move(r.headers);
  res.body = std::move(r.body);
  res.retryable = r.status == 502 || r.status == 503 || r.status == 504;
  char code[8];
  auto end = std::to_chars(code, code + sizeof code, r.status).ptr;
  ServeQueue(p);
  Complete(ex, std::move(res), std::string_view(code, static_cast<std::size_t>(end - code)));
}

void HttpClient::Impl::Release(Pool& p, std::shared_ptr<ClientConnection> conn) {
  if (!p.queue.empty()) {
    Exchange* next = p.queue.front();
    p.queue.pop_front();
    Run(next, std::move(conn));
    return;
  }
  ClientConnection* raw = conn.get();
  conn->WatchIdle(options_.idle_timeout, [this, &p, raw] {
    for (auto it = p.idle.begin(); it != p.idle.end(); ++it) {
      if (it->get() != raw) continue;
      (*it)->Close();
      p.idle.erase(it);
      --p.total;
      UpdateGauges(p);
      ServeQueue(p);
      return;
    }
  });
  p.idle.push_back(std::move(conn));
  if (p.idle.size() > options_.max_idle_per_upstream) {
    p.idle.front()->Close();
    p.idle.erase(p.idle.begin());
    --p.total;
  }
}

void HttpClient::Impl::ServeQueue(Pool& p) {
  while (!p.queue.empty() && (!p.idle.empty() || p.total < options_.max_connections_per_upstream)) {
    Exchange* ex = p.queue.front();
    p.queue.pop_front();
    Dispatch(ex);
  }
  UpdateGauges(p);
}

void HttpClient::Impl::Detach(Exchange* ex) {
  if (ex->pool == nullptr) return;
  Pool& p = *ex->pool;
  for (auto it = p.queue.begin(); it != p.queue.end(); ++it) {
    if (*it == ex) {
      p.queue.erase(it);
      break;
    }
  }
  if (ex->conn) {
    ex->conn->Close();
    ex->conn.reset();
    --p.total;
    if (!ex->connecting) --p.active;
    ex->connecting = false;
    ServeQueue(p);
  }
}

void HttpClient::Impl::OnTimeout(RequestId id) {
  auto it = exchanges_.find(id);
  if (it == exchanges_.end()) return;
  Exchange* ex = it->second.get();
  Detach(ex);
  ClientResponse res;
  res.status = Unavailable("timeout waiting for " + (ex->pool ? ex->pool->upstream : std::string("upstream")));
  res.timed_out = true;
  res.retryable = true;
  Complete(ex, std::move(res), "timeout");
}

bool HttpClient::Impl::Cancel(RequestId id) {
  auto it = exchanges_.find(id);
  if (it == exchanges_.end()) return false;
  std::unique_ptr<Exchange> ex = std::move(it->second);
  exchanges_.erase(it);
  Detach(ex.get());
  ex->timer.cancel();
  CodeCounter(ex->pool, "cancelled")->Inc();
  return true;
}

void HttpClient::Impl::Complete(Exchange* ex, ClientResponse res, std::string_view code) {
  auto it = exchanges_.find(ex->id);
  if (it == exchanges_.end()) return;
  std::unique_ptr<Exchange> owned = std::move(it->second);
  exchanges_.erase(it);
  owned->timer.cancel();
  CodeCounter(owned->pool, code)->Inc();
  if (owned->pool != nullptr) {
    owned->pool->duration->Observe(
        std::chrono::duration<double>(SystemClock::Default().Now() - owned->start).count());
  }
  auto done = std::move(owned->done);
  owned.reset();
  done(std::move(res));
}

void HttpClient::Impl::FailSoon(Exchange* ex, Status status, bool retryable, std::string_view code) {
  // Never call back inside Send(): the caller may not be ready for it.
  asio::post(io_, [this, id = ex->id, status = std::move(status), retryable, code = std::string(code),
                   life = std::weak_ptr<int>(life_)]() mutable {
    if (life.expired()) return;
    auto it = exchanges_.find(id);
    if (it == exchanges_.end()) return;
    ClientResponse res;
    res.status = std::move(status);
    res.retryable = retryable;
    Complete(it->second.get(), std::move(res), code);
  });
}

void HttpClient::Impl::UpdateGauges(Pool& p) {
  p.active_gauge->Set(static_cast<double>(p.active));
  p.idle_gauge->Set(static_cast<double>(p.idle.size()));
}

obs::Counter* HttpClient::Impl::CodeCounter(Pool* pool, std::string_view code) {
  if (pool == nullptr) return requests_.Get({"invalid", code});
  auto it = pool->codes.find(std::string(code));
  if (it != pool->codes.end()) return it->second;
  obs::Counter* c = requests_.Get({pool->upstream, code});
  pool->codes.emplace(std::string(code), c);
  return c;
}

StatusOr<std::unique_ptr<HttpClient>> HttpClient::Create(asio::io_context& io, HttpClientOptions options,
                                                         obs::Registry& registry) {
  if (options.max_connections_per_upstream == 0) {
    return InvalidArgument("max_connections_per_upstream must be at least 1");
  }
  if (options.connect_timeout <= Duration::zero() || options.request_timeout <= Duration::zero() ||
      options.idle_timeout <= Duration::zero()) {
    return InvalidArgument("client timeouts must be positive");
  }
  return std::unique_ptr<HttpClient>(
      new HttpClient(std::make_unique<Impl>(io, std::move(options), registry)));
}

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

RequestId HttpClient::Send(ClientRequest request, std::function<void(ClientResponse)> done) {
  return impl_->Send(std::move(request), std::move(done));
}

bool HttpClient::Cancel(RequestId id) { return impl_->Cancel(id); }

}  // namespace keel::net
