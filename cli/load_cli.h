// Declares `keel load`'s flags on the CLI11 app.
#pragma once

#include <CLI/CLI.hpp>

#include "keel/load/load_command.h"

namespace keel::cli {

CLI::App* AddLoadCommand(CLI::App& app, load::LoadFlags& flags);

}  // namespace keel::cli
