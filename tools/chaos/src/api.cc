#include "keel/chaos/api.h"

#include <functional>

namespace keel::chaos {

using net::Method;
using net::Request;
using net::Response;
using nlohmann::json;

namespace {

void Write(const ApiReply& reply, Response& res) {
  res.set_status(reply.status);
  if (reply.body.is_null()) return;
  res.set_content_type("application/json");
  res.body() = reply.body.dump();
  res.body() += '\n';
}

bool FromBrowser(const Request& req, Response& res) {
  if (!req.header("user-agent").starts_with("Mozilla/")) return false;
  res.set_status(403);
  res.set_content_type("text/plain; charset=utf-8");
  res.body() = "User agent not allowed\n";
  return true;
}

// Parses the body; an empty or invalid one answers 400 as Toxiproxy does.
bool ParseBody(const Request& req, Response& res, json* out) {
  *out = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (!out->is_discarded()) return true;
  Write(BadBody(req.body.empty() ? "EOF" : "invalid JSON"), res);
  return false;
}

using NoBody = std::function<ApiReply(const Request&)>;
using WithBody = std::function<ApiReply(const Request&, const json&)>;

net::Handler Wrap(NoBody fn) {
  return [fn = std::move(fn)](const Request& req, Response& res) {
    if (FromBrowser(req, res)) return;
    Write(fn(req), res);
  };
}

net::Handler Wrap(WithBody fn) {
  return [fn = std::move(fn)](const Request& req, Response& res) {
    if (FromBrowser(req, res)) return;
    json body;
    if (!ParseBody(req, res, &body)) return;
    Write(fn(req, body), res);
  };
}

std::string Param(const Request& req, std::string_view name) {
  return std::string(req.param(name));
}

}  // namespace

Status AddApiRoutes(net::Router& router, ProxyRegistry& p) {
  struct Route {
    Method method;
    const char* pattern;
    net::Handler handler;
  };
  auto update_proxy = Wrap(WithBody([&p](const Request& r, const json& b) {
    return p.UpdateProxy(Param(r, "proxy"), b);
  }));
  auto update_toxic = Wrap(WithBody([&p](const Request& r, const json& b) {
    return p.UpdateToxic(Param(r, "proxy"), Param(r, "toxic"), b);
  }));
  const Route routes[] = {
      {Method::kPost, "/reset", Wrap(NoBody([&p](const Request&) { return p.Reset(); }))},
      {Method::kGet, "/version", Wrap(NoBody([&p](const Request&) { return p.Version(); }))},
      {Method::kGet, "/proxies", Wrap(NoBody([&p](const Request&) { return p.ListProxies(); }))},
      {Method::kPost, "/proxies",
       Wrap(WithBody([&p](const Request&, const json& b) { return p.CreateProxy(b); }))},
      {Method::kPost, "/populate",
       Wrap(WithBody([&p](const Request&, const json& b) { return p.Populate(b); }))},
      {Method::kGet, "/proxies/{proxy}",
       Wrap(NoBody([&p](const Request& r) { return p.GetProxy(Param(r, "proxy")); }))},
      {Method::kPost, "/proxies/{proxy}", update_proxy},
      {Method::kPatch, "/proxies/{proxy}", update_proxy},
      {Method::kDelete, "/proxies/{proxy}",
       Wrap(NoBody([&p](const Request& r) { return p.DeleteProxy(Param(r, "proxy")); }))},
      {Method::kGet, "/proxies/{proxy}/toxics",
       Wrap(NoBody([&p](const Request& r) { return p.ListToxics(Param(r, "proxy")); }))},
      {Method::kPost, "/proxies/{proxy}/toxics",
       Wrap(WithBody([&p](const Request& r, const json& b) {
         return p.AddToxic(Param(r, "proxy"), b);
       }))},
      {Method::kGet, "/proxies/{proxy}/toxics/{toxic}",
       Wrap(NoBody([&p](const Request& r) {
         return p.GetToxic(Param(r, "proxy"), Param(r, "toxic"));
       }))},
      {Method::kPost, "/proxies/{proxy}/toxics/{toxic}", update_toxic},
      {Method::kPatch, "/proxies/{proxy}/toxics/{toxic}", update_toxic},
      {Method::kDelete, "/proxies/{proxy}/toxics/{toxic}",
       Wrap(NoBody([&p](const Request& r) {
         return p.RemoveToxic(Param(r, "proxy"), Param(r, "toxic"));
       }))},
  };
  for (const Route& r : routes) {
    Status st = router.Add(r.method, r.pattern, r.handler);
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

}  // namespace keel::chaos
