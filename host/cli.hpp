// Command-line parsing for `lumen` (Boost.Program_options), one parser per subcommand.
#pragma once

namespace lumen::host {

int main_cli(int argc, char** argv);

} // namespace lumen::host
