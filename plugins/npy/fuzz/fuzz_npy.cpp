// libFuzzer target for the hand-written .npy parser: the bytes are a .npy file in memory, read
// through the same read_header / read_data code that npy.read uses on files, and a decoded
// array is written back and parsed again (the writer's header must always parse). Any crash
// or sanitizer report is a bug; lumen::InputError is the expected outcome for bad input.
//
//   tests/fuzz/run_fuzzers.sh build-fuzz 60      (make fuzz FUZZ_SECONDS=60)
#include "lumen/error.hpp"
#include "npy_io.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const lumen::MemorySource src({data, size}, "fuzz.npy");
  lumen::Array array;
  try {
    const auto header = lumen::npy::read_header(src);
    array = lumen::npy::read_data(src, header);
  } catch (const lumen::InputError&) {
    return 0;
  }
  std::vector<std::uint8_t> copy;
  lumen::npy::write_npy(
      [&copy](const void* p, std::size_t n) {
        copy.insert(copy.end(), static_cast<const std::uint8_t*>(p), static_cast<const std::uint8_t*>(p) + n);
      },
      array, "copy");
  const lumen::MemorySource again(copy, "copy.npy");
  const auto back = lumen::npy::read_data(again, lumen::npy::read_header(again)); // must not throw
  if (back.nbytes() != array.nbytes()) __builtin_trap();
  return 0;
}
