// ptycho.qc_score: data-quality evaluation of a ptychography scan before reconstruction. Which
// diffraction frames are bad (beam dumps, shutter glitches, drift, detector hiccups), and the scan
// at a glance (STXM and DPC maps), from the standardized file (ptycho.write_std) or any CXI file.
// The scoring is in qc_score.hpp, the pictures in qc_render.hpp.
//
// Example pipeline (pipelines/ptycho-qc.yaml takes every parameter from vars):
//   stages:
//     - id: qc
//       use: ptycho.qc_score
//       with: {path: scan_std.h5, roi: [128, 128, 256, 256], bin: 2, reject_topp: 0.02,
//              circ: [0, 0, 4e-6], ptypy_indices: true}
#pragma once

#include "lumen/lumen.hpp"
#include "qc_score.hpp"

#include <string>
#include <vector>

namespace lumen::ptycho {

class QcScore final : public FileReader {
public:
  static constexpr const char* summary =
      "Scores every frame of a ptychography scan for anomalies (features + PCA), picks rejects, writes "
      "STXM/DPC maps, plots, a gallery and a reject list for the ingest";
  static constexpr const char* doc =
      "Opens the file itself and streams its frames once, in blocks of frames_per_block (hyperslabs: a\n"
      "9000 x 1024 x 1024 scan needs two blocks of memory plus N x embed_side^2 floats), frames of a block\n"
      "on the run's threads. One work unit per file.\n"
      "Where things are: data_path the frames (N, ny, nx), any dtype; \"\" = /entry/data (the standardized\n"
      "file of ptycho.write_std) or else /entry_1/instrument_1/detector_1/data (CXI). Positions: pos_path\n"
      "(N, 2) or (N, 3), columns x, y[, z], or pos_x_path + pos_y_path two (N,) columns; none given =\n"
      "/entry/pos (standardized) or else /entry_1/sample_1/geometry_1/translation (CXI). Positions stay\n"
      "in the file's unit (metres in both layouts); pos_unit only names it (maps, CSV, JSON), and rect /\n"
      "circ are in that unit. A missing dataset fails naming the file, the parameter and the path, and\n"
      "lists the file's datasets of the rank expected. mask_path: bad detector pixels (ny, nx), non-zero =\n"
      "bad, counted as 0 in every frame (\"\" = /entry/mask or the CXI detector mask when present, \"none\" =\n"
      "no mask).\n"
      "Per frame, on the roi [y0, x0, h, w] (detector pixels; [] = whole frame) binned bin x bin (sums,\n"
      "clamped at 0): total_intensity, com_x, com_y (centre of mass, ROI pixels), ring_0..ring_<rings-1>\n"
      "(fraction of the sum in equal-width rings around the ROI centre out to min(h, w)/2),\n"
      "speckle_contrast (std/mean), similarity (correlation of the frame's embedding with the median\n"
      "embedding of the evaluated frames); the embedding = the binned frame averaged into embed_side x\n"
      "embed_side cells, log1p. PCA of the embeddings (pca_k components, fitted on at most pca_fit evenly\n"
      "spaced frames, leaving out frames far from the median and then frames the first fit explains\n"
      "badly, so outliers claim no component), error = RMS residual. Each feature's robust deviation\n"
      "z = |x - median| / (1.4826 MAD) (one-sided: similarity below, PCA error above); feature_dev = the\n"
      "largest over the features, pca_dev = the PCA error's; raw = w_feat feature_dev + (1 - w_feat)\n"
      "pca_dev; score = raw / (raw + 3.5) in [0, 1) (0.5 = a deviation of 3.5, the usual outlier cut).\n"
      "Region: rect [cx, cy, w, h] or circ [cx, cy, r] in stage coordinates (not both; [] = off). Frames\n"
      "outside are MASKED: they do not enter any statistic (medians, MADs, PCA fit, median embedding),\n"
      "cannot be rejected, and are listed in mask_indices.npy; they still get a score (drawn grey in the\n"
      "maps). Reject (at most one mode; 0 = off): reject_topk K highest scores, reject_topp fraction p\n"
      "(ceil(p n) of the n evaluated frames), reject_thresh T (score >= T). Ties: lower index first.\n"
      "Outputs (in dir, each name prefixed by `prefix`, where {stem} is the input file's stem), written\n"
      "only after the whole scan is scored, each atomically, qc_meta.json last:\n"
      "  outlier_score.npy, stxm.npy (ln(1 + total intensity)), dpcx.npy, dpcy.npy (com - median com,\n"
      "  ROI pixels): f64 (N,); accept_indices.npy, reject_indices.npy, mask_indices.npy: i32 (K,) frame\n"
      "  indices (accepted = evaluated and not rejected); qc_summary.csv (index, x, y, every feature,\n"
      "  pca_error, feature_dev, pca_dev, score, masked, rejected); qc_meta.json (every parameter, the\n"
      "  input, the datasets, counts, timings); ptypy_indices.json when ptypy_indices is true (the input\n"
      "  and its data paths, frames, accepted, rejected, masked: ptycho.read_ad / read_cxi /\n"
      "  read_tiff_series take it as `exclude`); qc_maps.png (maps: true) and thumbs/ (the `thumbs`\n"
      "  highest-scoring evaluated frames, ROI, log-scaled, and thumbs/index.html).\n"
      "Emits one item per file: \"score\" (N) f64 and \"pos\" (N, 2) f64, meta frames, rejected, masked.\n"
      "\n"
      "Example:\n"
      "  - id: qc\n"
      "    use: ptycho.qc_score\n"
      "    with: {path: scan_std.h5, bin: 2, reject_topk: 20, rect: [0, 0, 5e-6, 5e-6]}\n";

  QcScore();

  Param<std::string> data_path{this, "data_path", std::string(),
                               "the frames (N, ny, nx); \"\" = /entry/data (standardized) or the CXI detector data"};
  Param<std::string> pos_path{this, "pos_path", std::string(),
                              "positions (N, 2) or (N, 3) [x, y(, z)]; \"\" = /entry/pos or the CXI translation"};
  Param<std::string> pos_x_path{this, "pos_x_path", std::string(), "x positions (N,) (with pos_y_path)"};
  Param<std::string> pos_y_path{this, "pos_y_path", std::string(), "y positions (N,) (with pos_x_path)"};
  Param<std::string> mask_path{this, "mask_path", std::string(),
                               "bad detector pixels (ny, nx), non-zero = bad (count as 0); \"\" = /entry/mask or the "
                               "CXI detector mask when the file has one; \"none\" = no mask"};
  Param<std::string> pos_unit{this, "pos_unit", std::string("m"),
                              "unit of the stored positions (labels only; rect and circ use it too)",
                              OneOf{{"m", "mm", "um", "nm"}}};
  Param<std::vector<std::int64_t>> roi{this,
                                       "roi",
                                       std::vector<std::int64_t>{},
                                       "[y0, x0, h, w] detector pixels the features see; [] = whole frame",
                                       Min{0},
                                       Length{0, 4},
                                       Unit{"pixels"}};
  Param<int> bin{this, "bin", 1, "sum bin x bin pixels before the features", Min{1}, Max{64}};
  Param<int> embed_side{this, "embed_side", 32, "embedding: embed_side x embed_side cells per frame", Min{2}, Max{128}};
  Param<int> pca_k{this, "pca_k", 8, "PCA components", Min{1}, Max{64}};
  Param<std::int64_t> pca_fit{this,   "pca_fit",  2048, "frames the PCA is fitted on (evenly spaced), at most",
                              Min{2}, Max{100000}};
  Param<int> rings{this, "rings", 4, "radial rings of the ring-energy features", Min{1}, Max{32}};
  Param<double> w_feat{this, "w_feat", 0.5, "weight of the feature part (1 - w_feat: the PCA part)", Min{0}, Max{1}};
  Param<std::int64_t> reject_topk{this, "reject_topk", 0, "reject the K highest scores; 0 = off", Min{0}};
  Param<double> reject_topp{this,   "reject_topp", 0.0, "reject this fraction of the evaluated frames; 0 = off",
                            Min{0}, Max{1}};
  Param<double> reject_thresh{this, "reject_thresh", 0.0, "reject scores >= T (0 < T < 1); 0 = off", Min{0}, Max{1}};
  Param<std::vector<double>> rect{this, "rect", std::vector<double>{},
                                  "evaluate only [cx, cy, w, h] of the scan plane (pos_unit); [] = off", Length{0, 4}};
  Param<std::vector<double>> circ{this, "circ", std::vector<double>{},
                                  "evaluate only the disc [cx, cy, r] of the scan plane (pos_unit); [] = off",
                                  Length{0, 3}};
  Param<int> thumbs{this, "thumbs", 24, "thumbnails of the highest scores in thumbs/; 0 = none", Min{0}, Max{1000}};
  Param<int> thumb_side{this, "thumb_side", 256, "largest thumbnail side, px", Min{16}, Max{2048}};
  Param<bool> maps{this, "maps", true, "draw qc_maps.png (score, STXM, DPC-X, DPC-Y at the positions)"};
  Param<bool> ptypy_indices{this, "ptypy_indices", false,
                            "write ptypy_indices.json (accepted / rejected frames, for the ingest's exclude)"};
  Param<std::int64_t> frames_per_block{
      this,   "frames_per_block", 0, "frames read at once (two blocks in memory); 0 = about 4 MiB, >= 2 per thread",
      Min{0}, Max{100000}};
  Param<std::string> dir{this, "dir", std::string{}, kOutputDirDoc};
  Param<std::string> prefix{this, "prefix", std::string{},
                            "prepended to every output name; {stem} = the input file's stem (needed for several "
                            "input files)"};

  Produces out_{this, {.arrays = {"score", "pos"}, .meta_keys = {"frames"}, .units = ""}};

  void validate() const override;
  [[nodiscard]] std::vector<WorkUnit> plan() override;
  void read(const WorkUnit& unit, Emit& emit) override;

private:
  [[nodiscard]] qc::QcOptions options() const;
  [[nodiscard]] qc::RejectRule reject_rule() const;
  std::size_t collide_ = 0; // files planned when their outputs would share names (no {stem} in prefix), else 0
};

} // namespace lumen::ptycho
