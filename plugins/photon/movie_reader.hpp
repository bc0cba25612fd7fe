// photon.read_movie: a photon movie (T, H, W) from a .npy file, a multi-page TIFF or an HDF5
// dataset, streamed in blocks of frames, so that one pipeline (photon-compress.yaml) takes any
// of the three and a long movie never sits in memory whole. The formats' own parsers do the
// reading (lumen-npy-core, lumen-tiff-core, lumen-hdf5-core); this stage only plans the blocks.
#pragma once

#include "lumen/lumen.hpp"

namespace lumen::photon {

class MovieRead final : public FileReader {
public:
  static constexpr const char* summary =
      "Reads a movie (T, H, W) from .npy, multi-page TIFF or an HDF5 dataset in blocks of frames";
  static constexpr const char* doc =
      "One movie per file, read in blocks of frames_per_item frames, each block its own work unit\n"
      "(read in parallel, resumed on its own), so memory holds a few blocks, never the whole movie.\n"
      "The format follows the extension: .npy (C order; any dtype npy.read takes), .tif/.tiff (one\n"
      "grayscale page per frame; every page the same size and type) or .h5/.hdf5/.nxs (the 3-D\n"
      "dataset named by `dataset`; empty means the file's only 3-D dataset). A file that is not a\n"
      "stack of 2-D frames fails with its shape. Items: image (n, H, W), id <stem>/<first frame>,\n"
      "meta index (first frame of the block), file_index (the movie), movie_frames (T), movie_format,\n"
      "units adu.\n"
      "\n"
      "Example:\n"
      "  - id: movie\n"
      "    use: photon.read_movie\n"
      "    with: {path: \"movies/*.h5\", dataset: entry/data/data, frames_per_item: 100}\n";
  static constexpr bool concurrent = true;

  MovieRead() : FileReader({".npy", ".tif", ".tiff", ".h5", ".hdf5", ".nxs"}, "movie (.npy, TIFF, HDF5)") {}

  Param<std::string> dataset{this, "dataset", std::string(),
                             "HDF5 only: path of the (T, H, W) dataset; empty = the file's only 3-D dataset"};
  Param<std::int64_t> frames_per_item{this, "frames_per_item", 100, "frames per item (block)", Min{1}, Max{1000000}};

  Produces out_{this, {.arrays = {"image"}, .meta_keys = {"index", "file_index", "units"}, .units = "adu"}};

  [[nodiscard]] std::vector<WorkUnit> plan() override;
  void read(const WorkUnit& unit, Emit& emit) override;
};

} // namespace lumen::photon
