#include "keel/redis/reply.h"

namespace keel::redis {

std::string_view ReplyTypeName(ReplyType type) {
  switch (type) {
    case ReplyType::kNil: return "nil";
    case ReplyType::kInteger: return "integer";
    case ReplyType::kString: return "string";
    case ReplyType::kStatus: return "status";
    case ReplyType::kError: return "error";
    case ReplyType::kArray: return "array";
  }
  return "unknown";
}

bool Reply::IsErrorCode(std::string_view code) const {
  if (type != ReplyType::kError || !std::string_view(str).starts_with(code)) return false;
  return str.size() == code.size() || str[code.size()] == ' ';
}

namespace {

void Append(const Reply& r, std::string* out) {
  constexpr std::size_t kMax = 200;
  auto text = [&](std::string_view s) {
    out->append(s.substr(0, kMax));
    if (s.size() > kMax) out->append("...");
  };
  switch (r.type) {
    case ReplyType::kNil: out->append("(nil)"); return;
    case ReplyType::kInteger: out->append(std::to_string(r.integer)); return;
    case ReplyType::kString:
      out->push_back('"');
      text(r.str);
      out->push_back('"');
      return;
    case ReplyType::kStatus:
      out->push_back('+');
      text(r.str);
      return;
    case ReplyType::kError:
      out->push_back('-');
      text(r.str);
      return;
    case ReplyType::kArray:
      out->push_back('[');
      for (std::size_t i = 0; i < r.elements.size(); ++i) {
        if (i > 0) out->append(", ");
        Append(r.elements[i], out);
      }
      out->push_back(']');
      return;
  }
}

}  // namespace

std::string Reply::DebugString() const {
  std::string out;
  Append(*this, &out);
  return out;
}

}  // namespace keel::redis
