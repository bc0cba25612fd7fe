// lumen: the host program. Parses the command line and runs one subcommand.
#include "cli.hpp"

int main(int argc, char** argv) { return lumen::host::main_cli(argc, argv); }
