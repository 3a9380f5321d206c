#include "keel/labreport/write_report.h"

#include <cstdio>
#include <fstream>

#include "keel/labreport/reader.h"
#include "keel/labreport/renderer.h"

namespace keel::labreport {

Status WriteReport(const std::string& dir, const std::string& out_html) {
  StatusOr<LabRun> run = ReadLabRun(dir);
  if (!run.ok()) return run.status();
  const std::string html = RenderHtml(*run);
  // Write beside the target and rename, so a reader never sees half a page.
  const std::string tmp = out_html + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return InvalidArgument(out_html + ": cannot open for writing");
    out << html;
    out.close();
    if (!out) {
      std::remove(tmp.c_str());
      return Internal(out_html + ": write failed");
    }
  }
  if (std::rename(tmp.c_str(), out_html.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Internal(out_html + ": cannot rename " + tmp + " into place");
  }
  return Status::Ok();
}

}  // namespace keel::labreport
