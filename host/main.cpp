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
  //    allocates five 64 KiB blocks per PNG and frees them, and with 256 KiB the writers' heaps
  //    fragmented (likely split by the small objects a writer keeps per tile: ids, counters):
  //    astro-bench peak RSS grew by ~170-230 KiB per input file (1000 files: 235-283 MB while
  //    malloc had under 13 MB in use); with 64 KiB it stays flat (64 MB).
  mallopt(M_MMAP_THRESHOLD, 64 * 1024);
  // 2. Some libraries allocate and free a few MiB of scratch space per call (Blosc's zstd: a
  //    context per block; image.to8bit: a 2 MB copy per image). With glibc's default 128 KiB pad
  //    and trim threshold the heap grew and shrank each time, a page fault and a kernel page
  //    clear per page (photon-compress: 2.2 s of system time for a 1.1 s job). Each busy thread
  //    has its own heap (up to 8 x cores of them), and each keeps up to pad + trim threshold of
  //    free memory. Measured (2 cores, --threads 2): 16 + 32 MiB, as set before: astro-bench
  //    with --queue-capacity 2, 1000 files, 79 MB; 8 + 8 MiB: 64 MB, the same page faults
  //    (photon-compress 11 000, demo 200 frames 6 000, astro-bench ~70 per file); 4 + 4 MiB:
  //    54 MB but 560 faults per astro-bench file and 207 000 for the demo.
  mallopt(M_TOP_PAD, 8 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024);
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  return lumen::host::main_cli(argc, argv);
}
