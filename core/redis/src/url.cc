#include "keel/redis/url.h"

#include <charconv>

namespace keel::redis {

namespace {

StatusOr<std::string> Unescape(std::string_view s, std::string_view what) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    unsigned v = 0;
    if (i + 2 >= s.size() ||
        std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16).ptr != s.data() + i + 3) {
      return InvalidArgument("redis url: bad percent-escape in the " + std::string(what));
    }
    out.push_back(static_cast<char>(v));
    i += 2;
  }
  return out;
}

StatusOr<RedisUrl::Host> ParseHost(std::string_view text) {
  RedisUrl::Host h;
  std::string_view host = text;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {  // [::1]:6379
    const auto close = text.find(']');
    if (close == std::string_view::npos) return InvalidArgument("redis url: unclosed '[' in '" + std::string(text) + "'");
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return InvalidArgument("redis url: bad host '" + std::string(text) + "'");
      port = text.substr(close + 2);
    }
  } else if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) return InvalidArgument("redis url: missing host in '" + std::string(text) + "'");
  h.host = std::string(host);
  if (!port.empty() || text.find(':') != std::string_view::npos) {
    unsigned v = 0;
    auto r = std::from_chars(port.data(), port.data() + port.size(), v);
    if (port.empty() || r.ec != std::errc() || r.ptr != port.data() + port.size() || v == 0 || v > 65535) {
      return InvalidArgument("redis url: bad port in '" + std::string(text) + "'");
    }
    h.port = static_cast<std::uint16_t>(v);
  }
  return h;
}

}  // namespace

std::vector<std::string> RedisUrl::Addresses() const {
  std::vector<std::string> out;
  for (const Host& h : hosts) {
    const bool v6 = h.host.find(':') != std::string::npos;
    out.push_back((v6 ? "[" + h.host + "]" : h.host) + ":" + std::to_string(h.port));
  }
  return out;
}

StatusOr<RedisUrl> ParseRedisUrl(std::string_view url) {
  RedisUrl out;
  std::string_view rest;
  if (url.starts_with("redis://")) {
    rest = url.substr(8);
  } else if (url.starts_with("redis-cluster://")) {
    out.cluster = true;
    rest = url.substr(16);
  } else if (url.starts_with("rediss://")) {
    return InvalidArgument("redis url: rediss:// (TLS) is not supported; use redis:// on a trusted network");
  } else {
    return InvalidArgument("redis url: expected redis://HOST:PORT or redis-cluster://H1:P1,H2:P2, got '" +
                           std::string(url) + "'");
  }
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto colon = userinfo.find(':');
    auto user = Unescape(userinfo.substr(0, colon), "user");
    if (!user.ok()) return user.status();
    out.username = *user;
    if (colon != std::string_view::npos) {
      auto password = Unescape(userinfo.substr(colon + 1), "password");
      if (!password.ok()) return password.status();
      out.password = *password;
    }
  }
  std::string_view hosts = rest;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    hosts = rest.substr(0, slash);
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      if (out.cluster) return InvalidArgument("redis url: Redis Cluster has only db 0; drop '/" + std::string(db) + "'");
      int v = 0;
      auto r = std::from_chars(db.data(), db.data() + db.size(), v);
      if (r.ec != std::errc() || r.ptr != db.data() + db.size() || v < 0) {
        return InvalidArgument("redis url: bad db '" + std::string(db) + "'");
      }
      out.db = v;
    }
  }
  while (true) {
    const auto comma = hosts.find(',');
    auto host = ParseHost(hosts.substr(0, comma));
    if (!host.ok()) return host.status();
    out.hosts.push_back(*host);
    if (comma == std::string_view::npos) break;
    hosts = hosts.substr(comma + 1);
  }
  if (!out.cluster && out.hosts.size() > 1) {
    return InvalidArgument("redis url: redis:// takes one host; use redis-cluster:// for several");
  }
  return out;
}

}  // namespace keel::redis
