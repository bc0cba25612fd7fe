// libFuzzer target for what zarr.read trusts least: the .zarray parser and the chunk decoders
// (Blosc headers checked with blosc_cbuffer_sizes/validate before decompressing, zstd frame
// sizes, raw sizes). Byte 0 picks the mode: 0 parses the rest as a .zarray document and 4 as a
// Zarr v3 zarr.json (a parsed one must render and parse again); 1 Blosc, 2 zstd, 3 raw decode the
// rest as one chunk that should hold 4 x (bytes 1-2, little-endian) bytes. Any crash or sanitizer report is a bug;
// lumen::InputError is the expected outcome for bad input.
//
//   tests/fuzz/run_fuzzers.sh build-fuzz 60      (make fuzz FUZZ_SECONDS=60)
#include "lumen/error.hpp"
#include "zarr_io.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const int mode = data[0] % 5;
  if (mode == 4) {
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    lumen::zarr::ArrayMeta m;
    std::string attrs;
    try {
      m = lumen::zarr::parse_zarr_json(text, "fuzz/zarr.json", &attrs);
    } catch (const lumen::InputError&) {
      return 0;
    }
    if (m.compressor == lumen::zarr::Compressor::none || m.compressor == lumen::zarr::Compressor::blosc)
      (void)lumen::zarr::parse_zarr_json(lumen::zarr::zarr_json(m, attrs), "again", nullptr); // must not throw
    return 0;
  }
  if (mode == 0) {
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    lumen::zarr::ArrayMeta m;
    try {
      m = lumen::zarr::parse_zarray(text, "fuzz/.zarray");
    } catch (const lumen::InputError&) {
      return 0;
    }
    if (m.compressor == lumen::zarr::Compressor::none || m.compressor == lumen::zarr::Compressor::blosc)
      (void)lumen::zarr::parse_zarray(lumen::zarr::zarray_json(m), "again"); // must not throw
    return 0;
  }
  if (size < 3) return 0;
  const std::size_t expected = 4 * (static_cast<std::size_t>(data[1]) | static_cast<std::size_t>(data[2]) << 8);
  const auto c = mode == 1   ? lumen::zarr::Compressor::blosc
                 : mode == 2 ? lumen::zarr::Compressor::zstd
                             : lumen::zarr::Compressor::none;
  std::vector<unsigned char> out(expected);
  try {
    lumen::zarr::decode_chunk(data + 3, size - 3, out.data(), expected, c, 1, "fuzz/0.0.0");
  } catch (const lumen::InputError&) {
  }
  return 0;
}
