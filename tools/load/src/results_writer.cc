#include "keel/load/results_writer.h"

#include <cerrno>
#include <charconv>
#include <cstring>

namespace keel::load {
namespace {

template <class Int>
void AppendInt(Int v, std::string* out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  (void)ec;  // 24 characters hold any 64-bit integer
  out->append(buf, end);
}

}  // namespace

void AppendResultLine(const RequestRecord& r, std::string* out) {
  AppendInt(r.seq, out);
  out->push_back(',');
  AppendInt(r.intended_unix_us, out);
  out->push_back(',');
  AppendInt(r.status, out);
  out->push_back(',');
  AppendInt(r.latency_us, out);
  out->push_back(',');
  out->append(r.outcome);
  out->push_back('\n');
}

StatusOr<std::unique_ptr<ResultsFile>> ResultsFile::Create(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return Unavailable("cannot write '" + path + "': " + std::strerror(errno));
  // Unbuffered: the ResultsBuffers batch, so each Append is one write(2).
  std::setvbuf(f, nullptr, _IONBF, 0);
  std::unique_ptr<ResultsFile> file(new ResultsFile(f, path));
  file->Append(kResultsHeader);
  return file;
}

ResultsFile::~ResultsFile() { (void)Close(); }

void ResultsFile::Append(std::string_view lines) {
  std::lock_guard<std::mutex> lock(mu_);
  if (f_ == nullptr || failed_) return;
  if (std::fwrite(lines.data(), 1, lines.size(), f_) != lines.size()) failed_ = true;
}

Status ResultsFile::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (f_ == nullptr) return failed_ ? Unavailable("writing '" + path_ + "' failed") : Status::Ok();
  if (std::fclose(f_) != 0) failed_ = true;
  f_ = nullptr;
  if (failed_) return Unavailable("writing '" + path_ + "' failed");
  return Status::Ok();
}

ResultsBuffer::ResultsBuffer(ResultsFile& file, std::size_t capacity)
    : file_(file), capacity_(capacity) {
  buf_.reserve(capacity_ + 128);
}

void ResultsBuffer::Add(const RequestRecord& r) {
  AppendResultLine(r, &buf_);
  if (buf_.size() >= capacity_) Flush();
}

void ResultsBuffer::Flush() {
  if (buf_.empty()) return;
  file_.Append(buf_);
  buf_.clear();
}

}  // namespace keel::load
