#include "keel/lab/scenario.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "keel/load/rate_profile.h"
#include "keel/slo/error_budget.h"

namespace keel::lab {
namespace {

// A free loopback port: bound to port 0, read back, released. Another
// process could take it before the scenario's process binds it; on loopback
// in a test that window is small enough, and the bind error would be loud.
StatusOr<int> FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Internal("socket: cannot pick a free port");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  if (port < 0) return Internal("bind: cannot pick a free port");
  return port;
}

class Parser {
 public:
  explicit Parser(Placeholders* ph) : ph_(ph) {}

  Status Fail(const std::string& where, const std::string& why) {
    return InvalidArgument(where + ": " + why);
  }

  StatusOr<std::string> Expand(const std::string& where, const std::string& text) {
    std::string out;
    std::size_t pos = 0;
    while (true) {
      const std::size_t open = text.find("{{", pos);
      if (open == std::string::npos) break;
      const std::size_t close = text.find("}}", open);
      if (close == std::string::npos) return Fail(where, "unclosed '{{' in '" + text + "'");
      out += text.substr(pos, open - pos);
      const std::string name = text.substr(open + 2, close - open - 2);
      if (name == "keel") {
        out += ph_->keel;
      } else if (name == "out") {
        out += ph_->out;
      } else if (name == "scenario_dir") {
        out += ph_->scenario_dir;
      } else if (name.rfind("port:", 0) == 0 && name.size() > 5) {
        auto [it, inserted] = ph_->ports.try_emplace(name.substr(5), 0);
        if (inserted) {
          auto port = FreePort();
          if (!port.ok()) return port.status();
          it->second = *port;
        }
        out += std::to_string(it->second);
      } else if (name.rfind("dir:", 0) == 0 && name.size() > 4) {
        const std::string dir_name = name.substr(4);
        if (dir_name.find('/') != std::string::npos || dir_name == "..") {
          return Fail(where, "{{dir:NAME}}: NAME must not contain '/'");
        }
        auto [it, inserted] = ph_->dirs.try_emplace(dir_name, ph_->out + "/data/" + dir_name);
        out += it->second;
      } else if (name == "seq" || name == "uuid" || name.rfind("rand:", 0) == 0 || name.rfind("zipf:", 0) == 0) {
        out += "{{" + name + "}}";  // keel load's request templates pass through
      } else {
        return Fail(where, "unknown placeholder '{{" + name +
                               "}}' (known: keel, out, scenario_dir, port:NAME, dir:NAME)");
      }
      pos = close + 2;
    }
    return out + text.substr(pos);
  }

  StatusOr<std::string> String(const YAML::Node& node, const std::string& where) {
    if (!node.IsScalar()) return Fail(where, "expected a string");
    return Expand(where, node.Scalar());
  }

  StatusOr<Duration> Dur(const YAML::Node& node, const std::string& where) {
    if (!node.IsScalar()) return Fail(where, "expected a duration such as 10s");
    auto d = ParseDuration(node.Scalar());
    if (!d.ok()) return Fail(where, d.status().message());
    return *d;
  }

  StatusOr<double> Number(const YAML::Node& node, const std::string& where) {
    if (!node.IsScalar()) return Fail(where, "expected a number");
    std::istringstream in(node.Scalar());
    double v = 0;
    in >> v;
    if (in.fail() || !in.eof()) return Fail(where, "invalid number '" + node.Scalar() + "'");
    return v;
  }

  // "99.9%" or 0.999.
  StatusOr<double> Objective(const YAML::Node& node, const std::string& where) {
    if (!node.IsScalar()) return Fail(where, "expected an objective such as 99.9% or 0.999");
    std::string text = node.Scalar();
    double scale = 1;
    if (!text.empty() && text.back() == '%') {
      text.pop_back();
      scale = 0.01;
    }
    YAML::Node bare(text);
    auto v = Number(bare, where);
    if (!v.ok()) return v.status();
    const double objective = *v * scale;
    Status valid = slo::ValidateObjective(objective);
    if (!valid.ok()) return Fail(where, valid.message());
    return objective;
  }

  StatusOr<std::vector<std::string>> StringList(const YAML::Node& node, const std::string& where) {
    if (!node.IsSequence() || node.size() == 0) return Fail(where, "expected a non-empty list of strings");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < node.size(); ++i) {
      auto s = String(node[i], where + "[" + std::to_string(i) + "]");
      if (!s.ok()) return s.status();
      out.push_back(*s);
    }
    return out;
  }

  // Rejects keys this part of the format does not have (typos).
  Status Keys(const YAML::Node& node, const std::string& where, std::set<std::string> known) {
    if (!node.IsMap()) return Fail(where, "expected a map");
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      if (!known.count(key)) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        return Fail(where + "." + key, "unknown key (known: " + list + ")");
      }
    }
    return Status::Ok();
  }

  StatusOr<int> Signal(const YAML::Node& node, const std::string& where) {
    static const std::map<std::string, int> kSignals = {
        {"TERM", SIGTERM}, {"KILL", SIGKILL}, {"INT", SIGINT}, {"STOP", SIGSTOP},
        {"CONT", SIGCONT}, {"HUP", SIGHUP},   {"QUIT", SIGQUIT}};
    std::string name = node.IsScalar() ? node.Scalar() : "";
    if (name.rfind("SIG", 0) == 0) name = name.substr(3);
    auto it = kSignals.find(name);
    if (it == kSignals.end()) return Fail(where, "unknown signal '" + name + "' (TERM, KILL, INT, STOP, CONT, HUP, QUIT)");
    return it->second;
  }

  Status Health(const YAML::Node& node, const std::string& where, HealthCheck* h);
  Status Process(const YAML::Node& node, const std::string& where, ProcessSpec* p);
  Status Proxy(const YAML::Node& node, const std::string& where, ProxySpec* p);
  Status Load(const YAML::Node& node, const std::string& where, LoadSpec* l);
  Status Fault(const YAML::Node& node, const std::string& where, FaultSpec* f);
  Status Slo(const YAML::Node& node, const std::string& where, SloSpec* s);
  Status Check(const YAML::Node& node, const std::string& where, CheckSpec* c);
  Status Alert(const YAML::Node& node, const std::string& where, Alerting* a);
  StatusOr<Scenario> Parse(const YAML::Node& root);

 private:
  Placeholders* ph_;
};

#define KEEL_TRY(expr)            \
  do {                            \
    Status _s = (expr);           \
    if (!_s.ok()) return _s;      \
  } while (0)
#define KEEL_ASSIGN(lhs, expr)             \
  do {                                     \
    auto _v = (expr);                      \
    if (!_v.ok()) return _v.status();      \
    lhs = std::move(*_v);                  \
  } while (0)

Status Parser::Health(const YAML::Node& node, const std::string& where, HealthCheck* h) {
  KEEL_TRY(Keys(node, where, {"http", "tcp", "command", "timeout"}));
  int kinds = 0;
  if (node["http"]) {
    h->kind = HealthCheck::Kind::kHttp;
    KEEL_ASSIGN(h->http_url, String(node["http"], where + ".http"));
    ++kinds;
  }
  if (node["tcp"]) {
    h->kind = HealthCheck::Kind::kTcp;
    KEEL_ASSIGN(h->tcp_address, String(node["tcp"], where + ".tcp"));
    ++kinds;
  }
  if (node["command"]) {
    h->kind = HealthCheck::Kind::kCommand;
    KEEL_ASSIGN(h->command, StringList(node["command"], where + ".command"));
    ++kinds;
  }
  if (kinds != 1) return Fail(where, "give exactly one of http, tcp, command");
  if (node["timeout"]) KEEL_ASSIGN(h->timeout, Dur(node["timeout"], where + ".timeout"));
  return Status::Ok();
}

Status Parser::Process(const YAML::Node& node, const std::string& where, ProcessSpec* p) {
  KEEL_TRY(Keys(node, where, {"name", "command", "env", "health", "metrics", "stop_signal"}));
  if (!node["name"]) return Fail(where + ".name", "required");
  KEEL_ASSIGN(p->name, String(node["name"], where + ".name"));
  if (!node["command"]) return Fail(where + ".command", "required");
  KEEL_ASSIGN(p->command, StringList(node["command"], where + ".command"));
  if (const YAML::Node env = node["env"]) {
    if (!env.IsMap()) return Fail(where + ".env", "expected a map of NAME: value");
    for (const auto& kv : env) {
      KEEL_ASSIGN(p->env[kv.first.Scalar()], String(kv.second, where + ".env." + kv.first.Scalar()));
    }
  }
  if (node["health"]) KEEL_TRY(Health(node["health"], where + ".health", &p->health));
  if (node["metrics"]) KEEL_ASSIGN(p->metrics_url, String(node["metrics"], where + ".metrics"));
  if (node["stop_signal"]) KEEL_ASSIGN(p->stop_signal, Signal(node["stop_signal"], where + ".stop_signal"));
  return Status::Ok();
}

Status Parser::Proxy(const YAML::Node& node, const std::string& where, ProxySpec* p) {
  KEEL_TRY(Keys(node, where, {"name", "listen", "upstream"}));
  for (const char* key : {"name", "listen", "upstream"}) {
    if (!node[key]) return Fail(where + "." + key, "required");
  }
  KEEL_ASSIGN(p->name, String(node["name"], where + ".name"));
  KEEL_ASSIGN(p->listen, String(node["listen"], where + ".listen"));
  KEEL_ASSIGN(p->upstream, String(node["upstream"], where + ".upstream"));
  return Status::Ok();
}

Status Parser::Load(const YAML::Node& node, const std::string& where, LoadSpec* l) {
  KEEL_TRY(Keys(node, where, {"name", "target", "start", "stages", "rate", "duration",
                              "connections", "threads", "args"}));
  if (!node["name"]) return Fail(where + ".name", "required");
  KEEL_ASSIGN(l->name, String(node["name"], where + ".name"));
  if (!node["target"]) return Fail(where + ".target", "required");
  KEEL_ASSIGN(l->target, String(node["target"], where + ".target"));
  if (node["start"]) KEEL_ASSIGN(l->start, Dur(node["start"], where + ".start"));
  if (node["stages"] && node["rate"]) return Fail(where, "give stages or rate, not both");
  if (node["stages"]) {
    KEEL_ASSIGN(l->stages, String(node["stages"], where + ".stages"));
    auto p = load::RateProfile::ParseStages(l->stages);
    if (!p.ok()) return Fail(where + ".stages", p.status().message());
    l->length = p->total_duration();
    if (node["duration"]) return Fail(where + ".duration", "stages carry their own durations");
  } else {
    if (!node["duration"]) return Fail(where + ".duration", "required without stages");
    KEEL_ASSIGN(l->duration, Dur(node["duration"], where + ".duration"));
    if (l->duration.count() <= 0) return Fail(where + ".duration", "must be positive");
    l->length = l->duration;
    if (node["rate"]) {
      KEEL_ASSIGN(l->rate, String(node["rate"], where + ".rate"));
      auto p = load::RateProfile::ParseRate(l->rate, l->duration);
      if (!p.ok()) return Fail(where + ".rate", p.status().message());
    }
  }
  if (node["connections"]) {
    double c = 0;
    KEEL_ASSIGN(c, Number(node["connections"], where + ".connections"));
    if (c < 1 || c > 100000) return Fail(where + ".connections", "must be between 1 and 100000");
    l->connections = static_cast<int>(c);
  }
  if (node["threads"]) {
    double t = 0;
    KEEL_ASSIGN(t, Number(node["threads"], where + ".threads"));
    if (t < 1 || t > 64) return Fail(where + ".threads", "must be between 1 and 64");
    l->threads = static_cast<int>(t);
  }
  if (node["args"]) KEEL_ASSIGN(l->args, StringList(node["args"], where + ".args"));
  return Status::Ok();
}

Status Parser::Check(const YAML::Node& node, const std::string& where, CheckSpec* c) {
  KEEL_TRY(Keys(node, where, {"name", "command", "timeout"}));
  if (!node["name"]) return Fail(where + ".name", "required");
  KEEL_ASSIGN(c->name, String(node["name"], where + ".name"));
  if (c->name.find_first_of("/\\ ") != std::string::npos) return Fail(where + ".name", "must not contain '/', '\\' or spaces");
  if (!node["command"]) return Fail(where + ".command", "required");
  KEEL_ASSIGN(c->command, StringList(node["command"], where + ".command"));
  if (node["timeout"]) KEEL_ASSIGN(c->timeout, Dur(node["timeout"], where + ".timeout"));
  if (c->timeout.count() <= 0) return Fail(where + ".timeout", "must be positive");
  return Status::Ok();
}

Status Parser::Fault(const YAML::Node& node, const std::string& where, FaultSpec* f) {
  KEEL_TRY(Keys(node, where, {"name", "at", "jitter", "duration", "toxic", "kill", "signal", "restart_after", "command"}));
  if (!node["at"]) return Fail(where + ".at", "required");
  KEEL_ASSIGN(f->at, Dur(node["at"], where + ".at"));
  if (node["jitter"]) KEEL_ASSIGN(f->jitter, Dur(node["jitter"], where + ".jitter"));
  if (f->jitter.count() < 0) return Fail(where + ".jitter", "must not be negative");
  if (node["duration"]) {
    Duration d{};
    KEEL_ASSIGN(d, Dur(node["duration"], where + ".duration"));
    f->duration = d;
  }
  if ((node["toxic"] ? 1 : 0) + (node["kill"] ? 1 : 0) + (node["command"] ? 1 : 0) > 1) {
    return Fail(where, "give one of toxic, kill, command");
  }
  if (const YAML::Node t = node["toxic"]) {
    f->kind = FaultSpec::Kind::kToxic;
    const std::string w = where + ".toxic";
    KEEL_TRY(Keys(t, w, {"proxy", "type", "stream", "toxicity", "attributes"}));
    if (!t["proxy"]) return Fail(w + ".proxy", "required");
    KEEL_ASSIGN(f->proxy, String(t["proxy"], w + ".proxy"));
    if (!t["type"]) return Fail(w + ".type", "required");
    KEEL_ASSIGN(f->toxic_type, String(t["type"], w + ".type"));
    static const std::set<std::string> kTypes = {"latency", "bandwidth", "slow_close", "timeout",
                                                 "reset_peer", "slicer", "limit_data"};
    if (!kTypes.count(f->toxic_type)) {
      return Fail(w + ".type", "unknown toxic '" + f->toxic_type +
                                   "' (latency, bandwidth, slow_close, timeout, reset_peer, slicer, limit_data)");
    }
    if (t["stream"]) KEEL_ASSIGN(f->stream, String(t["stream"], w + ".stream"));
    if (f->stream != "upstream" && f->stream != "downstream") {
      return Fail(w + ".stream", "must be upstream or downstream");
    }
    if (t["toxicity"]) {
      KEEL_ASSIGN(f->toxicity, Number(t["toxicity"], w + ".toxicity"));
      if (f->toxicity < 0 || f->toxicity > 1) return Fail(w + ".toxicity", "must be between 0 and 1");
    }
    if (const YAML::Node a = t["attributes"]) {
      if (!a.IsMap()) return Fail(w + ".attributes", "expected a map of numbers");
      nlohmann::json attrs = nlohmann::json::object();
      for (const auto& kv : a) {
        double v = 0;
        KEEL_ASSIGN(v, Number(kv.second, w + ".attributes." + kv.first.Scalar()));
        attrs[kv.first.Scalar()] = static_cast<std::int64_t>(v);
      }
      f->attributes_json = attrs.dump();
    }
  } else if (node["kill"]) {
    f->kind = FaultSpec::Kind::kKill;
    KEEL_ASSIGN(f->process, String(node["kill"], where + ".kill"));
    if (node["signal"]) KEEL_ASSIGN(f->signal, Signal(node["signal"], where + ".signal"));
    if (node["restart_after"]) {
      Duration d{};
      KEEL_ASSIGN(d, Dur(node["restart_after"], where + ".restart_after"));
      f->restart_after = d;
    }
    if (f->duration) return Fail(where + ".duration", "a kill lasts until restart_after");
  } else if (node["command"]) {
    f->kind = FaultSpec::Kind::kCommand;
    KEEL_ASSIGN(f->command, StringList(node["command"], where + ".command"));
    if (f->duration) return Fail(where + ".duration", "a command is an instant event");
  } else {
    return Fail(where, "give toxic, kill or command");
  }
  if (node["name"]) {
    KEEL_ASSIGN(f->name, String(node["name"], where + ".name"));
  } else {
    f->name = f->kind == FaultSpec::Kind::kToxic  ? f->toxic_type + " on " + f->proxy
              : f->kind == FaultSpec::Kind::kKill ? "kill " + f->process
                                                  : "run " + f->command[0];
  }
  return Status::Ok();
}

Status Parser::Slo(const YAML::Node& node, const std::string& where, SloSpec* s) {
  KEEL_TRY(Keys(node, where, {"name", "objective", "latency", "loads", "exclude"}));
  if (!node["name"]) return Fail(where + ".name", "required");
  KEEL_ASSIGN(s->name, String(node["name"], where + ".name"));
  if (!node["objective"]) return Fail(where + ".objective", "required");
  KEEL_ASSIGN(s->objective, Objective(node["objective"], where + ".objective"));
  if (node["latency"]) {
    Duration d{};
    KEEL_ASSIGN(d, Dur(node["latency"], where + ".latency"));
    if (d < std::chrono::microseconds(1)) return Fail(where + ".latency", "must be at least 1us");
    s->latency = d;
  }
  if (node["loads"]) KEEL_ASSIGN(s->loads, StringList(node["loads"], where + ".loads"));
  if (node["exclude"]) {
    const YAML::Node& list = node["exclude"];
    if (!list.IsSequence()) return Fail(where + ".exclude", "expected a list of {from, to}");
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string w = where + ".exclude[" + std::to_string(i) + "]";
      KEEL_TRY(Keys(list[i], w, {"from", "to"}));
      if (!list[i]["from"] || !list[i]["to"]) return Fail(w, "needs from and to (e.g. {from: 30s, to: 41s})");
      SloSpec::Window win;
      KEEL_ASSIGN(win.from, Dur(list[i]["from"], w + ".from"));
      KEEL_ASSIGN(win.to, Dur(list[i]["to"], w + ".to"));
      if (win.from.count() < 0 || win.to <= win.from) return Fail(w, "needs 0 <= from < to");
      s->exclude.push_back(win);
    }
  }
  return Status::Ok();
}

Status Parser::Alert(const YAML::Node& node, const std::string& where, Alerting* a) {
  KEEL_TRY(Keys(node, where, {"period", "scale_to", "min_events", "windows"}));
  if (node["period"]) KEEL_ASSIGN(a->period, Dur(node["period"], where + ".period"));
  if (a->period.count() <= 0) return Fail(where + ".period", "must be positive");
  if (node["scale_to"]) {
    Duration d{};
    KEEL_ASSIGN(d, Dur(node["scale_to"], where + ".scale_to"));
    if (d.count() <= 0) return Fail(where + ".scale_to", "must be positive");
    a->scale_to = d;
  }
  if (node["min_events"]) {
    double n = 0;
    KEEL_ASSIGN(n, Number(node["min_events"], where + ".min_events"));
    if (n < 0) return Fail(where + ".min_events", "must not be negative");
    a->min_events = static_cast<std::uint64_t>(n);
  }
  if (const YAML::Node w = node["windows"]) {
    if (!w.IsSequence() || w.size() == 0) return Fail(where + ".windows", "expected a non-empty list");
    a->windows.clear();
    for (std::size_t i = 0; i < w.size(); ++i) {
      const std::string wi = where + ".windows[" + std::to_string(i) + "]";
      KEEL_TRY(Keys(w[i], wi, {"long", "short", "burn_rate", "label"}));
      slo::BurnWindow bw;
      if (!w[i]["long"] || !w[i]["short"] || !w[i]["burn_rate"]) {
        return Fail(wi, "long, short and burn_rate are required");
      }
      KEEL_ASSIGN(bw.long_window, Dur(w[i]["long"], wi + ".long"));
      KEEL_ASSIGN(bw.short_window, Dur(w[i]["short"], wi + ".short"));
      KEEL_ASSIGN(bw.burn_rate, Number(w[i]["burn_rate"], wi + ".burn_rate"));
      if (bw.short_window.count() <= 0 || bw.long_window < bw.short_window) {
        return Fail(wi, "need 0 < short <= long");
      }
      if (bw.burn_rate <= 0) return Fail(wi + ".burn_rate", "must be positive");
      if (w[i]["label"]) KEEL_ASSIGN(bw.label, String(w[i]["label"], wi + ".label"));
      a->windows.push_back(bw);
    }
  }
  return Status::Ok();
}

template <typename T, typename F>
Status List(const YAML::Node& root, const char* key, std::vector<T>* out, F parse_one) {
  const YAML::Node node = root[key];
  if (!node) return Status::Ok();
  if (!node.IsSequence()) return InvalidArgument(std::string(key) + ": expected a list");
  for (std::size_t i = 0; i < node.size(); ++i) {
    T item;
    KEEL_TRY(parse_one(node[i], std::string(key) + "[" + std::to_string(i) + "]", &item));
    out->push_back(std::move(item));
  }
  return Status::Ok();
}

template <typename T>
Status UniqueNames(const std::vector<T>& items, const char* what) {
  std::set<std::string> seen;
  for (const T& item : items) {
    if (item.name.empty()) return InvalidArgument(std::string(what) + ": empty name");
    if (!seen.insert(item.name).second) {
      return InvalidArgument(std::string(what) + ": name '" + item.name + "' used twice");
    }
  }
  return Status::Ok();
}

StatusOr<Scenario> Parser::Parse(const YAML::Node& root) {
  KEEL_TRY(Keys(root, "scenario", {"name", "description", "processes", "chaos", "proxies", "loads",
                                   "faults", "slos", "checks", "alerting", "scrape_interval", "stop_grace", "seed"}));
  Scenario s;
  if (!root["name"]) return Fail("name", "required");
  KEEL_ASSIGN(s.name, String(root["name"], "name"));
  if (s.name.find_first_of("/\\ ") != std::string::npos) return Fail("name", "must not contain '/', '\\' or spaces");
  if (root["description"]) KEEL_ASSIGN(s.description, String(root["description"], "description"));
  auto bind = [this](auto method) {
    return [this, method](const YAML::Node& n, const std::string& w, auto* item) { return (this->*method)(n, w, item); };
  };
  KEEL_TRY(List(root, "processes", &s.processes, bind(&Parser::Process)));
  if (root["chaos"]) KEEL_ASSIGN(s.chaos_api, String(root["chaos"], "chaos"));
  KEEL_TRY(List(root, "proxies", &s.proxies, bind(&Parser::Proxy)));
  KEEL_TRY(List(root, "loads", &s.loads, bind(&Parser::Load)));
  KEEL_TRY(List(root, "faults", &s.faults, bind(&Parser::Fault)));
  KEEL_TRY(List(root, "slos", &s.slos, bind(&Parser::Slo)));
  KEEL_TRY(List(root, "checks", &s.checks, bind(&Parser::Check)));
  if (root["alerting"]) KEEL_TRY(Alert(root["alerting"], "alerting", &s.alerting));
  if (root["scrape_interval"]) KEEL_ASSIGN(s.scrape_interval, Dur(root["scrape_interval"], "scrape_interval"));
  if (s.scrape_interval < std::chrono::milliseconds(100)) return Fail("scrape_interval", "must be at least 100ms");
  if (root["stop_grace"]) KEEL_ASSIGN(s.stop_grace, Dur(root["stop_grace"], "stop_grace"));
  if (root["seed"]) {
    double seed = 0;
    KEEL_ASSIGN(seed, Number(root["seed"], "seed"));
    if (seed < 0 || seed > 9007199254740992.0 || seed != static_cast<double>(static_cast<std::uint64_t>(seed))) {
      return Fail("seed", "must be a non-negative integer");
    }
    s.seed = static_cast<std::uint64_t>(seed);
  }

  KEEL_TRY(UniqueNames(s.processes, "processes"));
  KEEL_TRY(UniqueNames(s.proxies, "proxies"));
  KEEL_TRY(UniqueNames(s.loads, "loads"));
  KEEL_TRY(UniqueNames(s.faults, "faults"));
  KEEL_TRY(UniqueNames(s.slos, "slos"));
  KEEL_TRY(UniqueNames(s.checks, "checks"));
  if (s.loads.empty()) return Fail("loads", "a scenario needs at least one load");
  for (const LoadSpec& l : s.loads) {
    if (l.name.find_first_of("/\\") != std::string::npos) return Fail("loads", "name '" + l.name + "' must not contain '/'");
  }
  if (!s.proxies.empty() && s.chaos_api.empty()) return Fail("chaos", "required when proxies are declared");
  const Duration end = s.length();
  for (std::size_t i = 0; i < s.faults.size(); ++i) {
    const FaultSpec& f = s.faults[i];
    const std::string w = "faults[" + std::to_string(i) + "]";
    if (f.at >= end) return Fail(w + ".at", "after the last load ends (" + FormatDuration(end) + ")");
    if (f.at + f.jitter >= end) return Fail(w + ".jitter", "at + jitter is after the last load ends (" + FormatDuration(end) + ")");
    if (f.kind == FaultSpec::Kind::kCommand) continue;
    if (f.kind == FaultSpec::Kind::kToxic) {
      const bool known = std::any_of(s.proxies.begin(), s.proxies.end(),
                                     [&](const ProxySpec& p) { return p.name == f.proxy; });
      if (!known) return Fail(w + ".toxic.proxy", "no proxy named '" + f.proxy + "'");
    } else {
      const bool known = std::any_of(s.processes.begin(), s.processes.end(),
                                     [&](const ProcessSpec& p) { return p.name == f.process; });
      if (!known) return Fail(w + ".kill", "no process named '" + f.process + "'");
    }
  }
  for (std::size_t i = 0; i < s.slos.size(); ++i) {
    for (const std::string& name : s.slos[i].loads) {
      const bool known = std::any_of(s.loads.begin(), s.loads.end(), [&](const LoadSpec& l) { return l.name == name; });
      if (!known) return Fail("slos[" + std::to_string(i) + "].loads", "no load named '" + name + "'");
    }
  }
  return s;
}

}  // namespace

Duration Scenario::length() const {
  Duration end{};
  for (const LoadSpec& l : loads) end = std::max(end, l.start + l.length);
  return end;
}

StatusOr<Scenario> ParseScenario(const std::string& yaml, Placeholders* placeholders) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return InvalidArgument("YAML: " + std::string(e.what()));
  }
  if (!root.IsMap()) return InvalidArgument("scenario: expected a YAML map at the top");
  try {
    Parser parser(placeholders);
    return parser.Parse(root);
  } catch (const YAML::Exception& e) {
    return InvalidArgument("YAML: " + std::string(e.what()));
  }
}

StatusOr<Scenario> LoadScenario(const std::string& path, Placeholders* placeholders) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("cannot read scenario '" + path + "'");
  std::error_code ec;
  placeholders->scenario_dir = std::filesystem::absolute(path, ec).parent_path().string();
  std::stringstream text;
  text << in.rdbuf();
  auto s = ParseScenario(text.str(), placeholders);
  if (!s.ok()) return InvalidArgument(path + ": " + s.status().message());
  return s;
}

}  // namespace keel::lab
