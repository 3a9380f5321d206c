// Declares `keel chaos`'s flags on the CLI11 app.
#pragma once

#include <CLI/CLI.hpp>

#include "keel/chaos/chaos_command.h"

namespace keel::cli {

CLI::App* AddChaosCommand(CLI::App& app, chaos::ChaosFlags& flags);

}  // namespace keel::cli
