#include "keel/load/rls_request.h"

namespace keel::load {

StatusOr<RlsDescriptor> ParseDescriptor(std::string_view text) {
  if (text.empty()) return InvalidArgument("empty descriptor: expected key=value[,key=value...]");
  RlsDescriptor out;
  for (std::string_view rest = text;;) {
    const auto comma = rest.find(',');
    const std::string_view entry = rest.substr(0, comma);
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) {
      return InvalidArgument("descriptor entry '" + std::string(entry) + "': expected key=value");
    }
    if (eq == 0) return InvalidArgument("descriptor entry '" + std::string(entry) + "': empty key");
    auto value = Template::Parse(entry.substr(eq + 1));
    if (!value.ok()) return InvalidArgument("descriptor entry '" + std::string(entry) + "': " + value.status().message());
    out.push_back(RlsEntry{std::string(entry.substr(0, eq)), std::move(*value)});
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return out;
}

}  // namespace keel::load
