#include "keel/shop/service.h"

#include <vector>

#include "keel/inventory/service.h"
#include "keel/orders/service.h"
#include "keel/payments/service.h"

namespace keel::shop {

namespace {

class Sidecars final : public app::Sidecar {
 public:
  void Add(std::unique_ptr<app::Sidecar> s) { parts_.push_back(std::move(s)); }
  void Stop() override {
    // Orchestrator first, so it issues no command the others will not take.
    for (auto& s : parts_) s->Stop();
  }

 private:
  std::vector<std::unique_ptr<app::Sidecar>> parts_;
};

}  // namespace

app::ServiceDef ShopService() {
  app::ServiceDef def;
  def.name = "shop";
  def.summary = "orders, inventory and payments in one process (the saga demo)";
  def.add_keys = [](config::Schema& schema) {
    orders::AddKeys(schema);
    inventory::AddKeys(schema);
    payments::AddKeys(schema);
  };
  def.start = [](const config::Config& cfg, const std::string&,
                 net::Router& router) -> StatusOr<std::unique_ptr<app::Sidecar>> {
    auto all = std::make_unique<Sidecars>();
    for (auto start : {&orders::Start, &inventory::Start, &payments::Start}) {
      auto part = start(cfg, router);
      if (!part.ok()) {
        all->Stop();
        return part.status();
      }
      all->Add(std::move(*part));
    }
    return std::unique_ptr<app::Sidecar>(std::move(all));
  };
  return def;
}

}  // namespace keel::shop
