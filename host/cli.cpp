#include "cli.hpp"

#include "commands.hpp"
#include "lumen/engine/console.hpp"
#include "lumen/engine/executor.hpp"
#include "lumen/engine/suggest.hpp"
#include "lumen/version.hpp"

#include <boost/program_options.hpp>
#include <iostream>

namespace po = boost::program_options;

namespace lumen::host {

namespace {

constexpr const char* kUsage = R"(lumen - turn raw scientific images into analysis-ready data

Usage:
  lumen run PIPELINE.yaml [--set KEY=VALUE]... [--run-dir DIR] [--threads N] [--fail-fast]
  lumen validate PIPELINE.yaml [--set KEY=VALUE]...
  lumen resume RUN_DIR [--from STAGE_ID]
  lumen plugins [--json]
  lumen inspect STAGE [--json]
  lumen check-plugin PLUGIN.so
  lumen manifest PLUGIN.so [--output FILE]
  lumen --version | --help

Every command takes --plugin-path DIR (repeatable) and --log-level error|warn|info|debug.
`lumen COMMAND --help` describes one command.

Exit codes: 0 success; 1 bad command line or pipeline; 2 the run finished but some items
failed; 3 fatal error.
)";

const std::vector<std::string> kCommands = {"run",     "validate",     "resume",  "plugins",
                                            "inspect", "check-plugin", "manifest"};

po::options_description common_options(CommonOptions& c, std::string& log_level) {
  po::options_description d("Common options");
  d.add_options()("help,h", "show this help")(
      "plugin-path", po::value<std::vector<std::string>>(&c.plugin_paths)->composing(),
      "directory (or .so file) to load plugins from; searched before LUMEN_PLUGIN_PATH and the installed plugins")(
      "log-level", po::value<std::string>(&log_level)->default_value("info"), "error, warn, info or debug");
  return d;
}

struct Parsed {
  po::variables_map vm;
  bool help = false;
};

Parsed parse(const std::vector<std::string>& args, const po::options_description& opts,
             const po::positional_options_description& pos) {
  Parsed p;
  po::store(po::command_line_parser(args).options(opts).positional(pos).run(), p.vm);
  po::notify(p.vm);
  p.help = p.vm.count("help") > 0;
  return p;
}

int usage_error(const std::string& msg, const std::string& command) {
  std::cerr << "lumen " << command << ": " << msg << "\nRun `lumen " << command << " --help` for usage.\n";
  return engine::kExitUsage;
}

} // namespace

int main_cli(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return engine::kExitUsage;
  }
  const std::string command = args.front();
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return engine::kExitOk;
  }
  if (command == "--version" || command == "version") {
    std::cout << "lumen " << LUMEN_VERSION << " (plugin ABI " << LUMEN_ABI_MAJOR << "." << LUMEN_ABI_MINOR << ", core "
              << core_fingerprint() << ")\n";
    return engine::kExitOk;
  }
  if (std::find(kCommands.begin(), kCommands.end(), command) == kCommands.end()) {
    std::cerr << "lumen: unknown command '" << command << "'" << engine::did_you_mean(command, kCommands) << "\n\n"
              << kUsage;
    return engine::kExitUsage;
  }
  args.erase(args.begin());

  CommonOptions common;
  std::string log_level;
  auto opts = common_options(common, log_level);
  po::positional_options_description pos;

  try {
    if (command == "run" || command == "validate") {
      RunCommand run;
      std::string run_dir;
      po::options_description d(command == "run" ? "lumen run PIPELINE.yaml [options]\n\nRuns a pipeline into a run "
                                                   "directory (runs/<run_id>/ unless --run-dir is given).\n\nOptions"
                                                 : "lumen validate PIPELINE.yaml [options]\n\nA full dry run: every "
                                                   "stage constructed with its resolved parameters,\nwiring and "
                                                   "requirements checked; no data is read.\n\nOptions");
      d.add_options()("pipeline", po::value<std::string>(&run.pipeline), "the pipeline file")(
          "set", po::value<std::vector<std::string>>(&run.sets)->composing(),
          "override KEY=VALUE: vars.NAME=VALUE or STAGE_ID.PARAM=VALUE (VALUE is YAML, so [1,2] is a list)");
      if (command == "run")
        d.add_options()("run-dir", po::value<std::string>(&run_dir),
                        "run directory; reusing one skips work its ledger records as done")(
            "threads", po::value<int>(&run.threads)->default_value(0), "worker threads (0: all cores)")(
            "queue-capacity", po::value<std::size_t>(&run.queue_capacity)->default_value(0),
            "items each stage's input queue holds (0: 4 x threads, at least 8)")(
            "queue-mb", po::value<std::size_t>(&run.queue_mb)->default_value(64),
            "MiB of array data each stage's input queue holds (one item always fits)")(
            "fail-fast", po::bool_switch(&run.fail_fast), "stop at the first failed item")("no-progress",
                                                                                           "no live progress line");
      d.add(opts);
      pos.add("pipeline", 1);
      const auto p = parse(args, d, pos);
      if (p.help) {
        std::cout << d << "\n";
        return engine::kExitOk;
      }
      if (run.pipeline.empty()) return usage_error("missing the pipeline file", command);
      if (run.threads < 0) return usage_error("--threads must be 0 (all cores) or more", command);
      common.log_level = engine::parse_log_level(log_level);
      if (!run_dir.empty()) run.run_dir = run_dir;
      run.progress = p.vm.count("no-progress") == 0;
      return command == "run" ? cmd_run(common, run) : cmd_validate(common, run.pipeline, run.sets);
    }
    if (command == "resume") {
      std::string run_dir, from;
      int threads = 0;
      bool fail_fast = false;
      po::options_description d("lumen resume RUN_DIR [options]\n\nRe-runs the pipeline saved in RUN_DIR/config.yaml "
                                "into the same directory,\nskipping the work units its ledger records as done.\n\n"
                                "Options");
      d.add_options()("run-dir", po::value<std::string>(&run_dir), "the run directory")(
          "from", po::value<std::string>(&from), "redo the work of this stage and everything downstream of it")(
          "threads", po::value<int>(&threads)->default_value(0),
          "worker threads (0: all cores)")("fail-fast", po::bool_switch(&fail_fast),
                                           "stop at the first failed item")("no-progress", "no live progress line");
      d.add(opts);
      pos.add("run-dir", 1);
      const auto p = parse(args, d, pos);
      if (p.help) {
        std::cout << d << "\n";
        return engine::kExitOk;
      }
      if (run_dir.empty()) return usage_error("missing the run directory", command);
      common.log_level = engine::parse_log_level(log_level);
      return cmd_resume(common, run_dir, from, threads, fail_fast, p.vm.count("no-progress") == 0);
    }
    if (command == "plugins" || command == "inspect") {
      std::string stage;
      po::options_description d(command == "plugins"
                                    ? "lumen plugins [--json]\n\nLists plugin sets, versions, ABI and stages; "
                                      "refused plugins with the reason.\n\nOptions"
                                    : "lumen inspect STAGE [--json]\n\nShows a stage's documentation, parameters "
                                      "(types, defaults, ranges), inputs and outputs.\n\nOptions");
      d.add_options()("json", "machine-readable output");
      if (command == "inspect") d.add_options()("stage", po::value<std::string>(&stage), "stage name");
      d.add(opts);
      if (command == "inspect") pos.add("stage", 1);
      const auto p = parse(args, d, pos);
      if (p.help) {
        std::cout << d << "\n";
        return engine::kExitOk;
      }
      common.log_level = engine::parse_log_level(log_level);
      if (command == "plugins") return cmd_plugins(common, p.vm.count("json") > 0);
      if (stage.empty()) return usage_error("missing the stage name (see `lumen plugins`)", command);
      return cmd_inspect(common, stage, p.vm.count("json") > 0);
    }
    // manifest, check-plugin
    std::string file, output;
    po::options_description d(command == "manifest"
                                  ? "lumen manifest PLUGIN.so [--output FILE]\n\nLoads one plugin and writes its "
                                    "JSON manifest (the build does this for\nevery plugin).\n\nOptions"
                                  : "lumen check-plugin PLUGIN.so\n\nConformance check for plugin authors: loads "
                                    "the plugin, constructs every stage\nwith its defaults, checks names, docs and "
                                    "defaults, and that the manifest beside it\nis current.\n\nOptions");
    d.add_options()("plugin", po::value<std::string>(&file), "plugin shared object");
    if (command == "manifest")
      d.add_options()("output,o", po::value<std::string>(&output), "output file (default: stdout)");
    d.add(opts);
    pos.add("plugin", 1);
    const auto p = parse(args, d, pos);
    if (p.help) {
      std::cout << d << "\n";
      return engine::kExitOk;
    }
    if (file.empty()) return usage_error("missing the plugin file", command);
    if (command == "manifest")
      return cmd_manifest(file, output.empty() ? std::nullopt : std::optional<std::string>(output));
    return cmd_check_plugin(file);
  } catch (const po::error& e) {
    return usage_error(e.what(), command);
  } catch (const Error& e) {
    return usage_error(e.what(), command);
  }
}

} // namespace lumen::host
