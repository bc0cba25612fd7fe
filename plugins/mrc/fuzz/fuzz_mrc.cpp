// libFuzzer target for the hand-written MRC parser: the bytes are an MRC file in memory, read
// through the same parse_header / read_sections code that mrc.read uses on files. Any crash,
// sanitizer report or allocation beyond the input's size is a bug; lumen::InputError is the
// expected outcome for bad input.
//
//   tests/fuzz/run_fuzzers.sh build-fuzz 60      (make fuzz FUZZ_SECONDS=60)
#include "lumen/error.hpp"
#include "mrc_io.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const lumen::MemorySource src({data, size}, "fuzz.mrc");
  try {
    const auto header = lumen::mrc::read_header(src);
    lumen::Meta meta;
    lumen::mrc::header_to_meta(header, meta);
    // The whole file, then the last section alone (the frames_per_item path).
    const auto all = lumen::mrc::read_sections(src, header, 0, header.nz);
    const auto last = lumen::mrc::read_sections(src, header, header.nz - 1, header.nz);
    if (all.empty() || last.empty()) __builtin_trap();
  } catch (const lumen::InputError&) {
  }
  return 0;
}
