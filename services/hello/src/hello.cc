#include "keel/services/hello.h"

namespace keel::services {

app::ServiceDef HelloService() {
  app::ServiceDef def;
  def.name = "hello";
  def.summary = "GET /hello answers 200 \"hello\" (a baseline service)";
  def.build = [](const config::Config&, net::Router& router) -> Status {
    return router.Add(net::Method::kGet, "/hello", [](const net::Request&, net::Response& res) {
      res.set_content_type("text/plain");
      res.body().assign("hello");
    });
  };
  return def;
}

}  // namespace keel::services
