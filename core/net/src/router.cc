#include "keel/net/router.h"

namespace keel::net {
namespace {

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 1;  // skip the leading '/'
  while (i <= path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

bool IsParam(std::string_view seg) {
  return seg.size() >= 2 && seg.front() == '{' && seg.back() == '}';
}

}  // namespace

Status Router::Add(Method method, std::string pattern, Handler handler) {
  return AddRoute(Route{method, std::move(pattern), {}, std::move(handler), nullptr});
}

Status Router::AddAsync(Method method, std::string pattern, AsyncHandler handler) {
  return AddRoute(Route{method, std::move(pattern), {}, nullptr, std::move(handler)});
}

Status Router::AddRoute(Route route) {
  const Method method = route.method;
  const std::string pattern = route.pattern;
  if (pattern.empty() || pattern[0] != '/') {
    return InvalidArgument("route pattern must start with '/': '" + pattern + "'");
  }
  for (auto seg : Split(pattern)) {
    if (seg == "{}") return InvalidArgument("empty parameter name in '" + pattern + "'");
    route.segments.emplace_back(seg);
  }
  for (const auto& r : routes_) {
    if (r.method == method && r.pattern == pattern) {
      return InvalidArgument("duplicate route " + std::string(MethodLabel(method)) + " " + pattern);
    }
  }
  routes_.push_back(std::move(route));
  // Recompute Allow lists: every route with the same pattern shares one.
  allow_.assign(routes_.size(), std::string());
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    for (const auto& r : routes_) {
      if (r.pattern != routes_[i].pattern) continue;
      std::string_view name = MethodLabel(r.method);
      if (allow_[i].find(name) != std::string::npos) continue;
      if (!allow_[i].empty()) allow_[i] += ", ";
      allow_[i] += name;
      if (r.method == Method::kGet && allow_[i].find("HEAD") == std::string::npos) {
        allow_[i] += ", HEAD";
      }
    }
  }
  return Status::Ok();
}

bool Router::MatchPath(const Route& route, std::string_view path,
                       std::vector<PathParam>* params) const {
  params->clear();
  std::size_t pos = 1;
  if (path.empty() || path[0] != '/') return false;
  for (std::size_t s = 0; s < route.segments.size(); ++s) {
    if (pos > path.size()) return false;
    std::size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(pos, end - pos);
    const std::string& want = route.segments[s];
    if (IsParam(want)) {
      if (seg.empty()) return false;
      std::string_view name(want);
      params->emplace_back(name.substr(1, name.size() - 2), seg);
    } else if (seg != want) {
      return false;
    }
    pos = end + 1;
  }
  return pos == path.size() + 1;
}

Router::Match Router::Find(Method method, std::string_view path,
                           std::vector<PathParam>* params) const {
  Match m;
  int head_fallback = -1;
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const Route& r = routes_[i];
    if (!MatchPath(r, path, params)) continue;
    if (r.method == method) {
      m.route = &r;
      m.route_index = static_cast<int>(i);
      return m;
    }
    if (method == Method::kHead && r.method == Method::kGet && head_fallback < 0) {
      head_fallback = static_cast<int>(i);
    }
    m.path_matched = true;
    m.allow = allow_[i];
  }
  if (head_fallback >= 0) {
    MatchPath(routes_[head_fallback], path, params);
    m.route = &routes_[head_fallback];
    m.route_index = head_fallback;
    m.path_matched = false;
  }
  return m;
}

}  // namespace keel::net
