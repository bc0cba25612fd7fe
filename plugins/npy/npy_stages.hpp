// The `npy` plugin set: NumPy .npy files in and out, with a hand-written parser (npy_io.hpp).
//
//   npy.read   reader  .npy files -> "image" arrays of 1 to 4 dims (shape as stored)
//   npy.write  writer  any array of an item (default "image") -> .npy version 1.0 files
//   npy.append aggregator  the frames of all items, in order -> one (N, ...) .npy file, streamed
//
// Example pipeline (save the frames of a synthetic sky as .npy for a Python notebook):
//   stages:
//     - id: sky
//       use: synth.starfield
//       with: {count: 4, dtype: f32}
//     - id: save
//       use: npy.write
//       with: {name: "{stem}_{index:04d}.npy"}
#pragma once

#include "lumen/lumen.hpp"
#include "npy_io.hpp"

#include <memory>
#include <vector>

namespace lumen::npy {

class NpyRead final : public FileReader {
public:
  static constexpr const char* summary = "Reads NumPy .npy files (versions 1.0, 2.0, 3.0) into arrays";
  static constexpr const char* doc =
      "Reads one item per file with a hand-written, strict parser. `path` is a file, a\n"
      "directory (every *.npy in it) or a glob. The array \"image\" keeps the stored shape\n"
      "(1 to 4 dims; a 0-d array becomes shape (1); more dims or a zero dimension fail the\n"
      "item). Fortran-order files are transposed into C order, so the array is the one\n"
      "numpy.load returns. dtypes (either byte order): u1 u2 i2 u4 i4 f4 f8 as they are;\n"
      "i1 -> i16 and f2 -> f32 (lossless widening); b1 -> u8 (0/1); i8 -> i32 and u8 -> u32\n"
      "when every value fits (NumPy's default int64 arrays usually do), else the item fails\n"
      "naming the first value that does not; complex, string, object, datetime and structured\n"
      "dtypes fail the item. The data size must equal the bytes after the header exactly.\n"
      "Meta: npy_descr, npy_fortran_order, npy_shape (as NumPy prints it) and npy_version;\n"
      "units are left unset (.npy carries none).\n"
      "\n"
      "Example:\n"
      "  - id: in\n"
      "    use: npy.read\n"
      "    with: {path: \"arrays/*.npy\"}\n";
  static constexpr bool concurrent = true;

  NpyRead() : FileReader({".npy"}, "NumPy .npy") {}

  Produces out_{this, {.arrays = {"image"}, .meta_keys = {"npy_descr", "npy_shape"}, .units = ""}};

  void read(const WorkUnit& unit, Emit& emit) override;
};

class NpyWrite final : public FileWriter {
public:
  static constexpr const char* summary = "Writes one array of each item as a NumPy .npy file (atomically)";
  static constexpr const char* doc =
      "Writes the array named by `array` (default \"image\"; e.g. \"mask\") of each item as a\n"
      ".npy file, format version 1.0, little-endian, C order, the header padded so the data\n"
      "start on a 64-byte boundary, and passes the item on with meta npy_path. Every Array\n"
      "dtype (u8 u16 i16 u32 i32 f32 f64) and shape (1 to 4 dims) is written as it is; numpy\n"
      "reads it back with np.load. An item without that array fails with a message naming it.\n"
      "Files appear atomically. Default name: {id}.npy ('/' in an id makes a sub-directory).\n"
      "\n"
      "Example:\n"
      "  - id: save-mask\n"
      "    use: npy.write\n"
      "    with: {array: mask, dir: masks, name: \"{stem}_mask.npy\"}\n";
  static constexpr bool concurrent = true;

  NpyWrite() : FileWriter("{id}.npy") {}

  Param<std::string> array{this, "array", std::string("image"), "name of the item's array to write"};

  Produces out_{this, {.arrays = {}, .meta_keys = {"npy_path"}, .units = ""}};

  void validate() const override;
  void process(Item& item, Emit& emit) override;
};

class NpyAppend final : public FileAggregator {
public:
  static constexpr const char* summary =
      "Appends the frames of all items, in source order, to one (N, ...) .npy file, streamed (constant memory)";
  static constexpr const char* doc =
      "Writes the array named by `array` (default \"image\") of every item, in source order, into one\n"
      ".npy file (version 1.0, little-endian, C order): an item of `frame_dims` dims (default 2: a\n"
      "(H, W) frame) is one frame, an item with one more leading axis a block of frames. Frames are\n"
      "written as they arrive, so memory holds one item, never the stack; the header is written with\n"
      "room to spare and rewritten with the final frame count at the end, and the file appears\n"
      "atomically when the run ends. Dims and dtype must match the first item (a mismatching item\n"
      "fails, the file goes on). Items are consumed. Default name: {stage}.npy (expanded with the\n"
      "first item). As an aggregator it is never skipped on resume, so the file is always complete.\n"
      "\n"
      "Example (restore a movie into one array):\n"
      "  - id: save\n"
      "    use: npy.append\n"
      "    with: {name: movie.npy}\n";
  static constexpr bool concurrent = false; // one open file
  static constexpr bool ordered_input = true;

  NpyAppend() : FileAggregator("{stage}.npy") {}

  Param<std::string> array{this, "array", std::string("image"), "name of the item's array to write"};
  Param<int> frame_dims{this, "frame_dims", 2, "dims of one frame (2 for (H, W) images)", Min{1}, Max{3}};

  void validate() const override;
  void process(Item& item, Emit& emit) override;
  void finish(Emit& emit) override;

private:
  std::unique_ptr<AtomicFile> file_;
  DType dtype_ = DType::u8;
  Shape frame_;                 // shape of one frame
  std::size_t header_size_ = 0; // bytes reserved for the header
  std::int64_t frames_ = 0;
  HeldUnits held_units_; // done only once the file is
};

} // namespace lumen::npy
