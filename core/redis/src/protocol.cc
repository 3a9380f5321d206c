#include "protocol.h"

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <array>
#include <cstdlib>
#include <new>
#include <vector>

namespace keel::redis::internal {

namespace {

// hiredis builds a reply tree through these callbacks: a root object is
// allocated, a nested one is the slot its parent array already holds
// (elements are sized by CreateArray before any child arrives). hiredis only
// frees root objects (FreeObject), which own their elements.
Reply* SlotFor(const redisReadTask* task) {
  if (task->parent == nullptr) return new (std::nothrow) Reply();
  auto* parent = static_cast<Reply*>(task->parent->obj);
  return &parent->elements[static_cast<std::size_t>(task->idx)];
}

void* CreateString(const redisReadTask* task, char* str, std::size_t len) {
  Reply* r = SlotFor(task);
  if (r == nullptr) return nullptr;
  r->type = task->type == REDIS_REPLY_ERROR    ? ReplyType::kError
            : task->type == REDIS_REPLY_STATUS ? ReplyType::kStatus
                                               : ReplyType::kString;
  r->str.assign(str, len);
  return r;
}

void* CreateArray(const redisReadTask* task, int elements) {
  Reply* r = SlotFor(task);
  if (r == nullptr) return nullptr;
  r->type = ReplyType::kArray;
  r->elements.resize(elements > 0 ? static_cast<std::size_t>(elements) : 0);
  return r;
}

void* CreateInteger(const redisReadTask* task, long long value) {  // NOLINT(google-runtime-int)
  Reply* r = SlotFor(task);
  if (r == nullptr) return nullptr;
  r->type = ReplyType::kInteger;
  r->integer = value;
  return r;
}

void* CreateNil(const redisReadTask* task) {
  Reply* r = SlotFor(task);
  if (r == nullptr) return nullptr;
  r->type = ReplyType::kNil;
  return r;
}

void FreeObject(void* obj) { delete static_cast<Reply*>(obj); }

redisReplyObjectFunctions kFunctions = {CreateString, CreateArray, CreateInteger, CreateNil,
                                        FreeObject};

}  // namespace

std::string EncodeCommand(std::span<const std::string_view> args) {
  constexpr std::size_t kInline = 16;
  std::array<const char*, kInline> argv_inline;
  std::array<std::size_t, kInline> len_inline;
  std::vector<const char*> argv_heap;
  std::vector<std::size_t> len_heap;
  const char** argv = argv_inline.data();
  std::size_t* lens = len_inline.data();
  if (args.size() > kInline) {
    argv_heap.resize(args.size());
    len_heap.resize(args.size());
    argv = argv_heap.data();
    lens = len_heap.data();
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    argv[i] = args[i].data();
    lens[i] = args[i].size();
  }
  char* out = nullptr;
  const int n = redisFormatCommandArgv(&out, static_cast<int>(args.size()), argv, lens);
  if (n < 0 || out == nullptr) throw std::bad_alloc();  // hiredis only fails on OOM
  std::string encoded(out, static_cast<std::size_t>(n));
  redisFreeCommand(out);
  return encoded;
}

ReplyReader::ReplyReader() : reader_(redisReaderCreateWithFunctions(&kFunctions)) {
  if (reader_ == nullptr) throw std::bad_alloc();
}

ReplyReader::~ReplyReader() { redisReaderFree(reader_); }

Status ReplyReader::Feed(const char* data, std::size_t size) {
  if (redisReaderFeed(reader_, data, size) != REDIS_OK) {
    return Unavailable(std::string("redis: protocol error: ") + reader_->errstr);
  }
  return Status::Ok();
}

StatusOr<std::optional<Reply>> ReplyReader::Next() {
  void* obj = nullptr;
  if (redisReaderGetReply(reader_, &obj) != REDIS_OK) {
    return Unavailable(std::string("redis: protocol error: ") + reader_->errstr);
  }
  if (obj == nullptr) return std::optional<Reply>();
  std::unique_ptr<Reply> reply(static_cast<Reply*>(obj));
  return std::optional<Reply>(std::move(*reply));
}

}  // namespace keel::redis::internal
