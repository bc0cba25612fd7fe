// photon.read_movie (see movie_reader.hpp): block planning over the formats' own readers.
#include "movie_reader.hpp"

#include "hdf5_io.hpp"
#include "npy_io.hpp"
#include "tiff_io.hpp"

#include <algorithm>
#include <cctype>

namespace lumen::photon {

namespace {

namespace fs = std::filesystem;

enum class Format { npy, tiff, hdf5 };

Format format_of(const fs::path& file) {
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == ".npy") return Format::npy;
  if (ext == ".tif" || ext == ".tiff") return Format::tiff;
  if (ext == ".h5" || ext == ".hdf5" || ext == ".nxs") return Format::hdf5;
  throw InputError(file.string() + ": unknown movie format '" + ext +
                   "'; photon.read_movie reads .npy, .tif/.tiff and .h5/.hdf5/.nxs");
}

const char* format_name(Format f) {
  return f == Format::npy ? "npy" : f == Format::tiff ? "tiff" : "hdf5";
}

std::string shape_text(const std::vector<std::int64_t>& dims) {
  std::string s;
  for (const auto d : dims) s += (s.empty() ? "" : "x") + std::to_string(d);
  return s;
}

// The HDF5 dataset to read: the one named, or the file's only 3-D dataset.
std::string movie_dataset(hdf5::H5Reader& r, const std::string& named) {
  if (!named.empty()) return named;
  const auto found = r.datasets_of_rank(3);
  if (found.size() == 1) return found.front();
  if (found.empty()) r.fail("holds no 3-D dataset (T, H, W); name the movie with `dataset`");
  std::string list;
  for (std::size_t i = 0; i < found.size() && i < 10; ++i) list += (i ? ", " : "") + found[i];
  r.fail("holds " + std::to_string(found.size()) + " 3-D datasets (" + list + "); choose one with `dataset`");
}

// Frames in `file`, after checking that it is a stack of 2-D frames.
std::int64_t count_frames(const fs::path& file, Format format, const std::string& dataset) {
  switch (format) {
  case Format::npy: {
    const FileSource src(file);
    const npy::Header h = npy::read_header(src);
    if (h.shape.size() != 3)
      throw InputError(file.string() + ": shape " + h.shape_text() + " is not a movie (T, H, W)");
    return h.shape[0];
  }
  case Format::tiff: {
    tiff::TiffFile f(file);
    const int pages = f.pages();
    const tiff::PageInfo info = f.select(0);
    if (info.shape().ndim != 2) f.fail("pages of shape " + info.shape().str() + " are not grayscale frames (H, W)");
    return pages;
  }
  case Format::hdf5: {
    hdf5::H5Reader r(file);
    const std::string name = movie_dataset(r, dataset);
    const hdf5::DatasetInfo info = r.info(name);
    if (info.dims.size() != 3)
      r.fail("dataset '" + name + "' has shape " + shape_text(info.dims) + ", not a movie (T, H, W)");
    return info.dims[0];
  }
  }
  return 0;
}

} // namespace

std::vector<WorkUnit> MovieRead::plan() {
  const auto files = input_files();
  std::vector<WorkUnit> units;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto file_index = static_cast<std::int64_t>(i);
    // A file that cannot be counted gets one whole-file unit whose read says why; one bad file
    // never stops the plan.
    std::int64_t frames = 0;
    try {
      frames = count_frames(files[i], format_of(files[i]), *dataset);
    } catch (const InputError&) {
    }
    if (frames <= 0) {
      units.push_back(file_unit(files[i], file_index));
      continue;
    }
    for (std::int64_t b = 0; b < frames; b += *frames_per_item)
      units.push_back(file_unit(files[i], file_index, b, std::min(frames, b + *frames_per_item)));
  }
  return units;
}

void MovieRead::read(const WorkUnit& unit, Emit& emit) {
  const fs::path file(unit.source_file);
  const Format format = format_of(file);
  const std::int64_t total = count_frames(file, format, *dataset); // says why when planning could not
  if (unit.end <= unit.begin) throw InputError(file.string() + ": the movie has no frames");
  if (unit.end > total)
    throw InputError(file.string() + ": has " + std::to_string(total) + " frames, fewer than planned (" +
                     std::to_string(unit.end) + "): did it change during the run?");
  Array frames;
  switch (format) {
  case Format::npy: {
    const FileSource src(file);
    frames = npy::read_frames(src, npy::read_header(src), unit.begin, unit.end);
    break;
  }
  case Format::tiff: {
    tiff::TiffFile f(file);
    frames = f.read_pages(static_cast<int>(unit.begin), static_cast<int>(unit.end));
    if (frames.ndim() == 2) frames = frames.reshape(Shape{1, frames.dim(0), frames.dim(1)});
    break;
  }
  case Format::hdf5: {
    hdf5::H5Reader r(file);
    frames = r.read(movie_dataset(r, *dataset), unit.begin, unit.end);
    break;
  }
  }
  Item item = make_item(unit, unit.begin);
  item.set("image", std::move(frames));
  item.meta.set(keys::units, "adu");
  item.meta.set("movie_frames", total, "frames in the whole movie");
  item.meta.set("movie_format", format_name(format), "format of the source file");
  emit(std::move(item));
}

} // namespace lumen::photon
