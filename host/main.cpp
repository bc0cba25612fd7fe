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
  // Below that threshold, libraries that allocate and free scratch space per call (Blosc's zstd
  // allocates a context per block) made the heaps grow and shrink over and over: a page fault
  // and a kernel page clear per page each time (photon-compress: 2.2 s of system time for a
  // 1.1 s job). Growing heaps in 16 MiB steps and trimming only 32 MiB of free top ends that.
  mallopt(M_TOP_PAD, 16 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024);
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  return lumen::host::main_cli(argc, argv);
}
