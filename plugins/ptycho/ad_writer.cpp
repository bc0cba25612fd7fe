// areaDetector-like scan files (see ad_writer.hpp).
#include "ad_writer.hpp"

#include "lumen/error.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string_view>

namespace lumen::ptycho {

namespace fs = std::filesystem;

namespace {

// plugins/ptycho/layouts/minimal.xml without its comment (tests check that both parse the same).
constexpr std::string_view kMinimalLayout = R"(<?xml version="1.0" standalone="no" ?>
<hdf5_layout>
  <group name="entry">
    <attribute name="NX_class" source="constant" value="NXentry" type="string" />
    <group name="data">
      <attribute name="NX_class" source="constant" value="NXdata" type="string" />
      <dataset name="data" source="detector" det_default="true">
        <attribute name="signal" source="constant" value="1" type="int" />
      </dataset>
    </group>
    <group name="scan">
      <attribute name="NX_class" source="constant" value="NXcollection" type="string" />
      <dataset name="pos_x" source="ndattribute" ndattribute="PosX" />
      <dataset name="pos_y" source="ndattribute" ndattribute="PosY" />
    </group>
    <group name="NDAttributes" ndattr_default="true">
      <attribute name="NX_class" source="constant" value="NXcollection" type="string" />
    </group>
  </group>
</hdf5_layout>
)";

// The layout's dataset for NDAttribute `name`, or null when it falls to the default group.
const AdLayoutDataset* placed(const AdLayout& layout, const std::string& name) {
  for (const auto& d : layout.datasets)
    if (d.source == "ndattribute" && d.ndattribute == name) return &d;
  return nullptr;
}

std::optional<double> number(const std::string& text) {
  double v = 0;
  const char* end = text.data() + text.size();
  const auto r = std::from_chars(text.data(), end, v);
  if (r.ec != std::errc{} || r.ptr != end || !std::isfinite(v)) return std::nullopt;
  return v;
}

} // namespace

AdLayout minimal_ad_layout() {
  return parse_ad_layout_text(kMinimalLayout, "the built-in minimal layout (plugins/ptycho/layouts/minimal.xml)");
}

AdScanWriter::AdScanWriter(const fs::path& file, AdLayout layout, std::vector<AdAttribute> attributes, DType dtype,
                           std::int64_t ny, std::int64_t nx, AdWriterOptions options)
    : file_(file), layout_(std::move(layout)), attributes_(std::move(attributes)), dtype_(dtype), ny_(ny), nx_(nx),
      what_(std::move(options.what)), values_(attributes_.size()) {
  hdf5::WriteOptions o;
  o.dataset = layout_.detector_path();
  o.codec = options.codec;
  o.level = options.level;
  data_ = std::make_unique<hdf5::H5ChunkWriter>(file, dtype, Shape{1, ny, nx}, true, o, options.pool, what_);
}

AdScanWriter::~AdScanWriter() = default;

std::string AdScanWriter::path_of(const std::string& attribute) const {
  return layout_.ndattribute_path(attribute).value_or("");
}

void AdScanWriter::append(const Array& frames, const std::vector<std::vector<double>>& values) {
  const bool one = frames.ndim() == 2;
  const std::int64_t n = one ? 1 : frames.dim(0);
  if ((frames.ndim() != 2 && frames.ndim() != 3) || frames.dim(frames.ndim() - 2) != ny_ ||
      frames.dim(frames.ndim() - 1) != nx_)
    throw InputError(what_ + ": frames of shape " + frames.shape().str() + " do not fit the scan's " +
                     std::to_string(ny_) + " x " + std::to_string(nx_) + " frames");
  if (frames.dtype() != dtype_)
    throw InputError(what_ + ": frames of dtype " + std::string(dtype_name(frames.dtype())) + ", but the scan's are " +
                     std::string(dtype_name(dtype_)) + " (frames are written as stored: one dtype per file)");
  if (values.size() != attributes_.size())
    throw InputError(what_ + ": " + std::to_string(values.size()) + " NDAttribute columns for " +
                     std::to_string(attributes_.size()) + " NDAttributes");
  for (std::size_t a = 0; a < values.size(); ++a)
    if (static_cast<std::int64_t>(values[a].size()) != n)
      throw InputError(what_ + ": " + std::to_string(values[a].size()) + " values of NDAttribute " +
                       attributes_[a].name + " for " + std::to_string(n) + " frames");
  data_->append(one ? frames.contiguous_copy().reshape(Shape{1, ny_, nx_}) : frames);
  for (std::size_t a = 0; a < values.size(); ++a)
    values_[a].insert(values_[a].end(), values[a].begin(), values[a].end());
  frames_ += n;
}

void AdScanWriter::add_array(const std::string& path, const Array& array) {
  if (array.ndim() != 2 || array.dim(0) != ny_ || array.dim(1) != nx_)
    throw InputError(what_ + ": the array for " + path + " has shape " + array.shape().str() + ", the frames are " +
                     std::to_string(ny_) + " x " + std::to_string(nx_));
  arrays_.try_emplace(path, array);
}

void AdScanWriter::close(const Meta& root_attributes) {
  if (frames_ == 0) throw InputError(what_ + ": the scan has no frames");
  data_->close();
  data_.reset();
  hdf5::H5Editor f(file_, what_);
  for (std::size_t a = 0; a < attributes_.size(); ++a) {
    const AdAttribute& attr = attributes_[a];
    const auto path = layout_.ndattribute_path(attr.name);
    if (!path) continue; // placed nowhere: NDFileHDF5 drops it too
    std::vector<double> v = values_[a];
    const AdLayoutDataset* d = placed(layout_, attr.name);
    if (d && !d->when.empty()) v = {d->when == "OnFileOpen" ? v.front() : v.back()}; // one snapshot
    Array out(attr.integer ? DType::i32 : DType::f64, Shape{static_cast<std::int64_t>(v.size())});
    if (attr.integer) {
      auto o = out.writable<std::int32_t>();
      std::transform(v.begin(), v.end(), o.begin(),
                     [](double x) { return static_cast<std::int32_t>(std::llround(x)); });
    } else {
      std::copy(v.begin(), v.end(), out.writable<double>().begin());
    }
    f.write_array(*path, out);
    Meta m;
    m.set("NDAttrName", attr.name);
    m.set("NDAttrDescription", attr.description + (attr.unit.empty() ? "" : " (" + attr.unit + ")"));
    m.set("NDAttrSourceType", "NDAttrSourceDriver");
    m.set("NDAttrSource", "lumen ptycho.write_ad");
    if (!attr.unit.empty()) m.set("units", attr.unit);
    f.write_attributes(*path, m);
  }
  for (const auto& d : layout_.datasets)
    if (d.source == "constant")
      if (const auto v = number(d.value)) f.write_scalar(d.path, *v);
  for (const auto& [path, array] : arrays_) f.write_array(path, array);
  for (const auto& [link, target] : layout_.hardlinks) f.soft_link(link, target);
  f.write_attributes("/", root_attributes);
  f.close();
}

} // namespace lumen::ptycho
