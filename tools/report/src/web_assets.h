// The page's static parts, embedded into the binary at build time by
// embed_assets.cmake: uPlot (from tools/report/web/node_modules, pinned by its
// package-lock.json) and Keel's own chart script and style sheet.
#pragma once

#include <string_view>

namespace keel::labreport::web {

std::string_view UplotJs();
std::string_view UplotCss();
std::string_view ReportJs();
std::string_view ReportCss();

}  // namespace keel::labreport::web
