// Declares `keel lab`'s flags on the CLI11 app.
#pragma once

#include <CLI/CLI.hpp>

#include "keel/lab/lab_command.h"

namespace keel::cli {

CLI::App* AddLabCommand(CLI::App& app, lab::LabFlags& flags);

}  // namespace keel::cli
