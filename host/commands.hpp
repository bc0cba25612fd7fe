// The `lumen` subcommands. Each returns a process exit code (see lumen::engine::ExitCode).
#pragma once

#include "lumen/stage.hpp"

#include <optional>
#include <string>
#include <vector>

namespace lumen::host {

struct CommonOptions {
  std::vector<std::string> plugin_paths;
  LogLevel log_level = LogLevel::info;
};

struct RunCommand {
  std::string pipeline;
  std::vector<std::string> sets;
  std::optional<std::string> run_dir;
  int threads = 0;
  std::size_t queue_capacity = 0;
  std::size_t queue_mb = 64;
  bool fail_fast = false;
  bool progress = true;
};

int cmd_run(const CommonOptions& common, const RunCommand& run);
int cmd_validate(const CommonOptions& common, const std::string& pipeline, const std::vector<std::string>& sets);
int cmd_resume(const CommonOptions& common, const std::string& run_dir, const std::string& from_stage, int threads,
               bool fail_fast, bool progress);
int cmd_plugins(const CommonOptions& common, bool json);
int cmd_inspect(const CommonOptions& common, const std::string& stage, bool json);
int cmd_manifest(const std::string& plugin_file, const std::optional<std::string>& output);
int cmd_check_plugin(const std::string& plugin_file);

} // namespace lumen::host
