// lumen: the host program. Parses the command line and runs one subcommand.
#include "cli.hpp"
#include "lumen/engine/executor.hpp"

#include <csignal>
#include <malloc.h>

namespace {
// First Ctrl-C: an orderly stop (whole files only, events closed). Second: the default action.
void on_interrupt(int sig) {
  lumen::engine::request_stop();
  std::signal(sig, SIG_DFL);
}
} // namespace

int main(int argc, char** argv) {
  // glibc raises its mmap threshold each time a large block is freed, after which image-sized
  // buffers come from per-thread heaps that fragment: peak RSS then grew with the number of
  // items (demo, 1000 frames: 38 MB instead of 17 MB). A fixed threshold keeps buffers of
  // 256 KiB and more in their own mappings, returned to the system when freed.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  return lumen::host::main_cli(argc, argv);
}
