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
  // Allocator policy (glibc). Measured with bench/memory/rss_vs_files.sh; history in git log.
  // 1. A fixed mmap threshold: glibc raises it each time a large block is freed, after which
  //    image-sized buffers come from per-thread heaps that fragment (demo, 1000 frames: 38 MB
  //    instead of 17 MB). Arrays of 256 KiB and more never come from malloc at all (the core maps
  //    them itself, see core/src/buffer_cache.hpp). The threshold is 64 KiB, not 256 KiB: zlib
  //    allocates five 64 KiB blocks per PNG and frees them; taken from the writers' heaps, they
  //    left free space that later requests did not reuse (likely split by the small objects a
  //    writer keeps per tile: ids, counters): astro-bench peak RSS grew by ~170 KiB per input
  //    file (1000 files: 266 MB while malloc had under 13 MB in use). Mapped, they go back whole.
  mallopt(M_MMAP_THRESHOLD, 64 * 1024);
  // 2. Some libraries allocate and free a few MiB of scratch space per call (Blosc's zstd: a
  //    context per block). With glibc's default 128 KiB pad and trim threshold the heap grew and
  //    shrank each time, a page fault and a kernel page clear per page (photon-compress: 2.2 s of
  //    system time for a 1.1 s job, 320 000 minor faults with a 1 MiB pad; 11 000 with 4 MiB).
  //    Every thread's heap keeps up to pad + trim threshold of free memory, and a run has a
  //    heap per busy thread (up to 8 x cores): 16 MiB + 32 MiB, as set before, let peak RSS creep
  //    up with the number of files as more heaps reached that ceiling (astro-bench, 200 files:
  //    92-133 MB); 4 MiB + 4 MiB keeps it flat.
  mallopt(M_TOP_PAD, 4 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  return lumen::host::main_cli(argc, argv);
}
