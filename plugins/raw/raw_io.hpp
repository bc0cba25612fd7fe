// Camera raw files through LibRaw: the undemosaiced Bayer mosaic and its metadata, behind
// `raw.read`.
//
// read_raw() opens the file with its own LibRaw object (thread-safe libraw_r; one object per
// read), checks that the file can hold the frame it declares, unpacks it and copies the
// mosaic (the visible area, or the full sensor area) into a u16 (H, W) array.
//
// The size rule (LibRaw "decodes" files whose image data is missing and returns garbage):
//   needed = data_offset + payload, where payload is
//     uncompressed data (DNG/TIFF compression 1, or a LibRaw flat-data decoder):
//       raw_width * raw_height * bits_per_sample / 8 (bits per sample from the file, >= 8)
//     compressed data (lossless JPEG, Nikon/Sony/Canon/Panasonic/Fuji codecs, ...):
//       raw_width * raw_height / 8, i.e. at least one bit per pixel; every entropy coder used
//       by cameras spends at least one bit per pixel (lossy-JPEG DNGs of flat scenes could in
//       principle go below, and are then refused: a deliberate, documented limitation)
//   A file shorter than `needed` is refused, naming the declared frame and the file size.
// Data errors LibRaw reports while decoding (its data-error callback) and any LibRaw
// processing warning set after open/unpack are errors too.
//
// 2x2 Bayer and 6x6 Fujifilm X-Trans mosaics are returned (cfa RGGB/BGGR/GRBG/GBRG or XTRANS,
// with the layout in cfa_pattern, see cfa.hpp); 4-colour (CMYG), Foveon/linear DNG and Fuji
// SuperCCD layouts are refused with a message saying so.
//
// Note on threads: LibRaw is built with OpenMP and some decoders use it internally; Lumen
// cannot cap that per stage (OMP_NUM_THREADS is process-wide). The decoders of uncompressed
// and Bayer DNG/ARW/RAF/NEF data used here run single-threaded.
#pragma once

#include "lumen/array.hpp"
#include "lumen/meta.hpp"

#include <filesystem>

namespace lumen::raw {

struct RawFrame {
  Array image; // u16 (H, W)
  Meta meta;
};

struct ReadOptions {
  bool visible_only = true; // the visible (active) area; false: the full sensor area with margins
};

/// Reads the mosaic and sets meta (see raw.read's doc for the keys). Throws lumen::InputError
/// naming the file for anything unreadable, truncated or not a Bayer raw file.
[[nodiscard]] RawFrame read_raw(const std::filesystem::path& file, const ReadOptions& options = {});

} // namespace lumen::raw
