#include "keel/nats/nats.h"

#include <nats/nats.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>

#include "keel/base/clock.h"

namespace keel::nats {

struct Metrics {
  obs::Counter* published_ok = nullptr;
  obs::Counter* published_duplicate = nullptr;
  obs::Counter* published_error = nullptr;
  obs::Histogram* publish_duration = nullptr;
  obs::Counter* received = nullptr;
  obs::Counter* ack = nullptr;
  obs::Counter* nak = nullptr;
  obs::Counter* term = nullptr;
  obs::Counter* progress = nullptr;
  obs::Gauge* connected = nullptr;
};

namespace {

std::int64_t Ms(Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

Status FromNats(natsStatus s, jsErrCode js, std::string_view what) {
  std::string text = natsStatus_GetText(s);
  natsStatus last = NATS_OK;
  const char* detail = nats_GetLastError(&last);
  if (detail != nullptr && *detail != '\0' && text.find(detail) == std::string::npos) {
    text += std::string(": ") + detail;
  }
  std::string msg = "nats " + std::string(what) + ": " + text;
  if (js != 0) msg += " (jetstream error " + std::to_string(static_cast<int>(js)) + ")";
  if (js == JSStreamNotFoundErr || js == JSConsumerNotFoundErr || js == JSNoMessageFoundErr ||
      s == NATS_NOT_FOUND) {
    return NotFound(msg);
  }
  if (s == NATS_INVALID_ARG || (js != 0 && js != JSNotEnabledErr && js != JSNotEnabledForAccountErr &&
                                s == NATS_ERR)) {
    return InvalidArgument(msg);
  }
  return Unavailable(msg);
}

void OnDisconnected(natsConnection*, void* closure) { static_cast<Metrics*>(closure)->connected->Set(0); }
void OnReconnected(natsConnection*, void* closure) { static_cast<Metrics*>(closure)->connected->Set(1); }

// libnats runs connection callbacks on its own thread, after
// natsConnection_Close returns; the closed callback comes last. The client
// waits for it, so no callback touches a destroyed client.
struct ClosedSignal {
  std::mutex mu;
  std::condition_variable cv;
  bool closed = false;  // GUARDED_BY(mu)
};
void OnClosed(natsConnection*, void* closure) {
  auto* c = static_cast<ClosedSignal*>(closure);
  std::lock_guard<std::mutex> lock(c->mu);
  c->closed = true;
  c->cv.notify_all();
}

}  // namespace

Status ValidateOptions(const Options& o) {
  if (o.url.empty()) return InvalidArgument("nats.url is empty");
  if (o.connect_timeout <= Duration::zero() || o.request_timeout <= Duration::zero()) {
    return InvalidArgument("nats timeouts must be > 0");
  }
  if (o.max_reconnect < -1) return InvalidArgument("nats max_reconnect must be >= -1");
  return Status::Ok();
}

// Message --------------------------------------------------------------------

Message::Message(void* msg, Metrics* metrics) : msg_(msg), metrics_(metrics) {
  jsMsgMetaData* meta = nullptr;
  if (natsMsg_GetMetaData(&meta, static_cast<natsMsg*>(msg_)) == NATS_OK && meta != nullptr) {
    delivered_ = meta->NumDelivered;
    stream_sequence_ = meta->Sequence.Stream;
    jsMsgMetaData_Destroy(meta);
  }
}

Message::Message(Message&& o) noexcept
    : msg_(o.msg_), metrics_(o.metrics_), delivered_(o.delivered_), stream_sequence_(o.stream_sequence_) {
  o.msg_ = nullptr;
}

Message& Message::operator=(Message&& o) noexcept {
  if (this != &o) {
    if (msg_ != nullptr) natsMsg_Destroy(static_cast<natsMsg*>(msg_));
    msg_ = o.msg_;
    metrics_ = o.metrics_;
    delivered_ = o.delivered_;
    stream_sequence_ = o.stream_sequence_;
    o.msg_ = nullptr;
  }
  return *this;
}

Message::~Message() {
  if (msg_ != nullptr) natsMsg_Destroy(static_cast<natsMsg*>(msg_));
}

std::string_view Message::subject() const { return natsMsg_GetSubject(static_cast<natsMsg*>(msg_)); }

std::string_view Message::data() const {
  auto* m = static_cast<natsMsg*>(msg_);
  return {natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m))};
}

std::optional<std::string> Message::header(const char* key) const {
  const char* value = nullptr;
  if (natsMsgHeader_Get(static_cast<natsMsg*>(msg_), key, &value) != NATS_OK || value == nullptr) {
    return std::nullopt;
  }
  return std::string(value);
}

Status Message::Ack() {
  jsErrCode js = static_cast<jsErrCode>(0);
  // Synchronous: when it returns OK the server has the ack, so a crash right
  // after cannot bring the message back.
  natsStatus s = natsMsg_AckSync(static_cast<natsMsg*>(msg_), nullptr, &js);
  if (s != NATS_OK) return FromNats(s, js, "ack");
  metrics_->ack->Inc();
  return Status::Ok();
}

Status Message::Nak(Duration delay) {
  natsStatus s = delay > Duration::zero()
                     ? natsMsg_NakWithDelay(static_cast<natsMsg*>(msg_), Ms(delay), nullptr)
                     : natsMsg_Nak(static_cast<natsMsg*>(msg_), nullptr);
  if (s != NATS_OK) return FromNats(s, static_cast<jsErrCode>(0), "nak");
  metrics_->nak->Inc();
  return Status::Ok();
}

Status Message::Term() {
  natsStatus s = natsMsg_Term(static_cast<natsMsg*>(msg_), nullptr);
  if (s != NATS_OK) return FromNats(s, static_cast<jsErrCode>(0), "term");
  metrics_->term->Inc();
  return Status::Ok();
}

Status Message::InProgress() {
  natsStatus s = natsMsg_InProgress(static_cast<natsMsg*>(msg_), nullptr);
  if (s != NATS_OK) return FromNats(s, static_cast<jsErrCode>(0), "in-progress");
  metrics_->progress->Inc();
  return Status::Ok();
}

// PullConsumer -----------------------------------------------------------------

PullConsumer::~PullConsumer() {
  // Unsubscribing a durable pull subscription would delete the consumer;
  // destroying it keeps the consumer (and its ack state) on the server.
  natsSubscription_Destroy(static_cast<natsSubscription*>(sub_));
}

StatusOr<std::vector<Message>> PullConsumer::Fetch(int batch, Duration timeout) {
  natsMsgList list{nullptr, 0};
  jsErrCode js = static_cast<jsErrCode>(0);
  natsStatus s = natsSubscription_Fetch(&list, static_cast<natsSubscription*>(sub_), std::max(1, batch),
                                        std::max<std::int64_t>(1, Ms(timeout)), &js);
  std::vector<Message> out;
  if (s == NATS_TIMEOUT) return out;
  if (s != NATS_OK) return FromNats(s, js, "fetch");
  out.reserve(static_cast<std::size_t>(list.Count));
  for (int i = 0; i < list.Count; ++i) {
    out.push_back(Message(list.Msgs[i], metrics_));
    list.Msgs[i] = nullptr;  // owned by the Message now
  }
  natsMsgList_Destroy(&list);
  metrics_->received->Inc(out.size());
  return out;
}

// Client -------------------------------------------------------------------------

struct Client::Impl {
  Options options;
  Metrics metrics;
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  ClosedSignal closed;

  ~Impl() {
    if (js != nullptr) jsCtx_Destroy(js);
    if (nc != nullptr) {
      natsConnection_Close(nc);
      {
        std::unique_lock<std::mutex> lock(closed.mu);
        closed.cv.wait_for(lock, std::chrono::seconds(5), [this] { return closed.closed; });
      }
      natsConnection_Destroy(nc);
    }
  }

  jsOptions JsOptions() const {
    jsOptions o;
    jsOptions_Init(&o);
    o.Wait = Ms(options.request_timeout);
    return o;
  }
};

StatusOr<std::unique_ptr<Client>> Client::Connect(const Options& options, obs::Registry& registry) {
  if (Status v = ValidateOptions(options); !v.ok()) return v;
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  Metrics& m = impl->metrics;
  auto& published = registry.AddCounter(
      "keel_nats_published_total",
      "JetStream publishes by outcome: ok, duplicate (dropped by the stream's de-duplication), error.",
      {"outcome"});
  m.published_ok = published.Get({"ok"});
  m.published_duplicate = published.Get({"duplicate"});
  m.published_error = published.Get({"error"});
  m.publish_duration = registry
                           .AddHistogram("keel_nats_publish_duration_seconds",
                                         "JetStream publish to stream ack.", {})
                           .Get({});
  m.received = registry.AddCounter("keel_nats_received_total", "JetStream messages fetched.").Get({});
  auto& acks = registry.AddCounter("keel_nats_acks_total",
                                   "JetStream acknowledgements sent, by kind (ack, nak, term, progress).",
                                   {"kind"});
  m.ack = acks.Get({"ack"});
  m.nak = acks.Get({"nak"});
  m.term = acks.Get({"term"});
  m.progress = acks.Get({"progress"});
  m.connected = registry.AddGauge("keel_nats_connected", "1 while connected to a NATS server.").Get({});

  natsOptions* o = nullptr;
  if (natsStatus s = natsOptions_Create(&o); s != NATS_OK) return FromNats(s, static_cast<jsErrCode>(0), "options");
  std::unique_ptr<natsOptions, decltype(&natsOptions_Destroy)> guard(o, natsOptions_Destroy);
  natsStatus s = natsOptions_SetURL(o, options.url.c_str());
  if (s == NATS_OK) s = natsOptions_SetName(o, options.name.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(o, Ms(options.connect_timeout));
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(o, options.max_reconnect);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(o, Ms(options.reconnect_wait));
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(o, OnDisconnected, &impl->metrics);
  if (s == NATS_OK) s = natsOptions_SetReconnectedCB(o, OnReconnected, &impl->metrics);
  if (s == NATS_OK) s = natsOptions_SetClosedCB(o, OnClosed, &impl->closed);
  if (s != NATS_OK) return FromNats(s, static_cast<jsErrCode>(0), "options (nats.url " + options.url + ")");
  s = natsConnection_Connect(&impl->nc, o);
  if (s != NATS_OK) return FromNats(s, static_cast<jsErrCode>(0), "connect " + options.url);
  m.connected->Set(1);
  jsOptions jo = impl->JsOptions();
  s = natsConnection_JetStream(&impl->js, impl->nc, &jo);
  if (s != NATS_OK) return FromNats(s, static_cast<jsErrCode>(0), "jetstream");
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

bool Client::connected() const { return natsConnection_Status(impl_->nc) == NATS_CONN_STATUS_CONNECTED; }

Status Client::EnsureStream(const StreamConfig& config) {
  if (config.name.empty() || config.subjects.empty()) {
    return InvalidArgument("nats stream: a name and at least one subject are needed");
  }
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  std::vector<const char*> subjects;
  for (const auto& s : config.subjects) subjects.push_back(s.c_str());
  cfg.Name = config.name.c_str();
  cfg.Subjects = subjects.data();
  cfg.SubjectsLen = static_cast<int>(subjects.size());
  cfg.MaxAge = config.max_age.count();
  cfg.Duplicates = config.duplicate_window.count();
  cfg.MaxMsgs = config.max_msgs;
  cfg.Storage = config.memory ? js_MemoryStorage : js_FileStorage;
  cfg.Replicas = config.replicas;
  jsOptions jo = impl_->JsOptions();
  jsStreamInfo* si = nullptr;
  jsErrCode js = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, impl_->js, cfg.Name, &jo, &js);
  if (s == NATS_OK) {
    jsStreamInfo_Destroy(si);
    si = nullptr;
    s = js_UpdateStream(&si, impl_->js, &cfg, &jo, &js);
    if (s != NATS_OK) return FromNats(s, js, "update stream " + config.name);
  } else if (s == NATS_NOT_FOUND || js == JSStreamNotFoundErr) {
    js = static_cast<jsErrCode>(0);
    s = js_AddStream(&si, impl_->js, &cfg, &jo, &js);
    if (s != NATS_OK) return FromNats(s, js, "add stream " + config.name);
  } else {
    return FromNats(s, js, "stream info " + config.name);
  }
  jsStreamInfo_Destroy(si);
  return Status::Ok();
}

Status Client::DeleteStream(const std::string& name) {
  jsOptions jo = impl_->JsOptions();
  jsErrCode js = static_cast<jsErrCode>(0);
  natsStatus s = js_DeleteStream(impl_->js, name.c_str(), &jo, &js);
  return s == NATS_OK ? Status::Ok() : FromNats(s, js, "delete stream " + name);
}

StatusOr<StoredMessage> Client::GetMessage(const std::string& stream, std::uint64_t sequence) {
  jsOptions jo = impl_->JsOptions();
  natsMsg* msg = nullptr;
  jsErrCode js = static_cast<jsErrCode>(0);
  natsStatus s = js_GetMsg(&msg, impl_->js, stream.c_str(), sequence, &jo, &js);
  if (s != NATS_OK) return FromNats(s, js, "get message " + stream + " #" + std::to_string(sequence));
  StoredMessage out;
  out.sequence = natsMsg_GetSequence(msg);
  out.subject = natsMsg_GetSubject(msg);
  out.data.assign(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
  out.time_ns = natsMsg_GetTime(msg);
  const char** keys = nullptr;
  int count = 0;
  if (natsMsgHeader_Keys(msg, &keys, &count) == NATS_OK) {
    for (int i = 0; i < count; ++i) {
      const char* value = nullptr;
      if (natsMsgHeader_Get(msg, keys[i], &value) == NATS_OK && value != nullptr) {
        out.headers[keys[i]] = value;
      }
    }
    free(static_cast<void*>(keys));  // NOLINT: libnats allocates the array with malloc
  }
  natsMsg_Destroy(msg);
  return out;
}

Status Client::DeleteMessage(const std::string& stream, std::uint64_t sequence) {
  jsOptions jo = impl_->JsOptions();
  jsErrCode js = static_cast<jsErrCode>(0);
  natsStatus s = js_DeleteMsg(impl_->js, stream.c_str(), sequence, &jo, &js);
  if (s != NATS_OK) return FromNats(s, js, "delete message " + stream + " #" + std::to_string(sequence));
  return Status::Ok();
}

StatusOr<StreamState> Client::Stream(const std::string& name) {
  jsOptions jo = impl_->JsOptions();
  jsStreamInfo* si = nullptr;
  jsErrCode js = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, impl_->js, name.c_str(), &jo, &js);
  if (s != NATS_OK) return FromNats(s, js, "stream info " + name);
  StreamState out{si->State.Msgs, si->State.FirstSeq, si->State.LastSeq};
  jsStreamInfo_Destroy(si);
  return out;
}

StatusOr<PubAck> Client::Publish(const std::string& subject, std::string_view data,
                                 const std::string& msg_id,
                                 const std::map<std::string, std::string>& headers) {
  Metrics& m = impl_->metrics;
  natsMsg* msg = nullptr;
  natsStatus s = natsMsg_Create(&msg, subject.c_str(), nullptr, data.data(), static_cast<int>(data.size()));
  if (s != NATS_OK) {
    m.published_error->Inc();
    return FromNats(s, static_cast<jsErrCode>(0), "publish " + subject);
  }
  std::unique_ptr<natsMsg, decltype(&natsMsg_Destroy)> guard(msg, natsMsg_Destroy);
  for (const auto& [k, v] : headers) {
    if (s = natsMsgHeader_Set(msg, k.c_str(), v.c_str()); s != NATS_OK) {
      m.published_error->Inc();
      return FromNats(s, static_cast<jsErrCode>(0), "header " + k);
    }
  }
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = Ms(impl_->options.request_timeout);
  if (!msg_id.empty()) po.MsgId = msg_id.c_str();
  jsPubAck* ack = nullptr;
  jsErrCode js = static_cast<jsErrCode>(0);
  const auto start = SystemClock::Default().Now();
  s = js_PublishMsg(&ack, impl_->js, msg, &po, &js);
  m.publish_duration->Observe(std::chrono::duration<double>(SystemClock::Default().Now() - start).count());
  if (s != NATS_OK) {
    m.published_error->Inc();
    return FromNats(s, js, "publish " + subject);
  }
  PubAck out{ack->Stream != nullptr ? ack->Stream : "", ack->Sequence, ack->Duplicate};
  jsPubAck_Destroy(ack);
  (out.duplicate ? m.published_duplicate : m.published_ok)->Inc();
  return out;
}

StatusOr<std::unique_ptr<PullConsumer>> Client::PullSubscribe(const std::string& stream,
                                                              const ConsumerConfig& config) {
  if (config.durable.empty() || config.filter_subject.empty()) {
    return InvalidArgument("nats consumer: a durable name and a filter subject are needed");
  }
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = stream.c_str();
  so.Config.AckWait = config.ack_wait.count();
  so.Config.MaxDeliver = config.max_deliver;
  so.Config.MaxAckPending = config.max_ack_pending;
  so.Config.AckPolicy = js_AckExplicit;
  jsOptions jo = impl_->JsOptions();
  natsSubscription* sub = nullptr;
  jsErrCode js = static_cast<jsErrCode>(0);
  natsStatus s = js_PullSubscribe(&sub, impl_->js, config.filter_subject.c_str(), config.durable.c_str(), &jo, &so, &js);
  if (s != NATS_OK) return FromNats(s, js, "pull subscribe " + stream + "/" + config.durable);
  return std::unique_ptr<PullConsumer>(new PullConsumer(sub, &impl_->metrics));
}

}  // namespace keel::nats
