// Pictures of a ptychography QC run (cairo): the four scan maps and the outlier gallery, drawn by
// ptycho.qc_score (qc_stage.cpp) at the end of a scan.
//
// render_qc_maps() draws four panels in a 2x2 layout — deviation score, STXM, DPC-X, DPC-Y —
// each a scatter of markers at the stage positions (never a reshape, so irregular scans draw as
// they were measured; a raster as cells of its two steps, other scans as discs sized from the
// typical nearest-neighbour spacing), equal aspect, axes in a readable unit (nm/µm/mm picked
// from `position_unit` and the extent), a title and a colour bar each (viridis for score and
// STXM, a diverging map symmetric about 0 for DPC), colour limits from robust percentiles (the
// score keeps its 0..1 scale), rejected frames ringed in red with a legend, masked frames
// (outside the evaluation region) grey. Text goes through cairo's toy text API.
//
// write_thumbs_gallery() writes dir/frame_<index>.png (log1p of max(0, x) scaled to 8 bits,
// area-averaged down to at most `side` px) for each thumb and dir/index.html, a self-contained
// gallery (inline CSS grid, relative <img src>, no scripts, no server) sorted by score.
//
// Every file is written atomically (lumen::AtomicFile).
#pragma once

#include "lumen/array.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace lumen::ptycho::qc {

struct ScanMaps {
  std::vector<double> x, y;                   // stage position per frame, in `position_unit`
  std::string position_unit = "m";            // "m", "mm", "um"/"µm", "nm"; the renderer rescales
  std::vector<double> score;                  // combined anomaly score 0..1
  std::vector<double> stxm;                   // log of summed intensity
  std::vector<double> dpcx, dpcy;             // centre-of-mass shift (pixels) from the median
  std::vector<std::uint8_t> rejected, masked; // per frame flags (masked = outside region); may be empty
  std::string title;                          // e.g. input file name + counts
};

/// Four panels (score, STXM, DPC-X, DPC-Y) in stage coordinates, scattered at the positions
/// (never reshaped), axes with units, titles, a colour bar each, rejected frames marked.
/// Written atomically (lumen::AtomicFile). Throws lumen::Error on failure (no frames, vectors
/// of different lengths, a size out of range, cairo or file errors). NaN values draw grey.
void render_qc_maps(const ScanMaps& maps, const std::filesystem::path& png, int width = 1600, int height = 1300);

struct Thumb {
  std::int64_t index;
  double x, y, score;
  std::string reason;
  lumen::Array frame; // (H, W) any dtype (a (1, H, W) stack is accepted too)
};

/// dir/frame_<index>.png (log-scaled 8-bit, max side `side` px) for each thumb and
/// dir/index.html: a self-contained gallery (inline CSS, relative <img src>, no scripts
/// needed, no server) with index, position and score per thumbnail, sorted by score.
/// Positions are shown in `position_unit` (as in ScanMaps). Returns the files written (for
/// Context::record_output). Throws lumen::Error on failure.
std::vector<std::filesystem::path> write_thumbs_gallery(const std::vector<Thumb>& thumbs,
                                                        const std::filesystem::path& dir, const std::string& title,
                                                        int side = 256, const std::string& position_unit = "m");

} // namespace lumen::ptycho::qc
