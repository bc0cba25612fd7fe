#include "lumen/stage.hpp"

#include <system_error>

namespace lumen {

const char* stage_kind_name(StageKind k) noexcept {
  switch (k) {
  case StageKind::reader:
    return "reader";
  case StageKind::calibrator:
    return "calibrator";
  case StageKind::transform:
    return "transform";
  case StageKind::tiler:
    return "tiler";
  case StageKind::registrator:
    return "registrator";
  case StageKind::qc:
    return "qc";
  case StageKind::aggregator:
    return "aggregator";
  case StageKind::writer:
    return "writer";
  }
  return "?";
}

Context::~Context() = default;
Stage::~Stage() = default;

const Context& Stage::ctx() const {
  if (!ctx_) throw Error("Stage::ctx() called before start(): the stage has no run context yet");
  return *ctx_;
}

Requires::Requires(Stage* s, StageIO io) {
  s->require(std::move(io));
}
Produces::Produces(Stage* s, StageIO io) {
  s->produce(std::move(io));
}

std::string file_identity(const std::filesystem::path& path) {
  std::error_code ec;
  const auto abs = std::filesystem::absolute(path, ec);
  const auto size = std::filesystem::file_size(path, ec);
  const auto size_text = ec ? std::string("?") : std::to_string(size);
  const auto mtime = std::filesystem::last_write_time(path, ec);
  const auto mtime_text = ec ? std::string("?") : std::to_string(mtime.time_since_epoch().count());
  return (ec ? path : abs).string() + "|" + size_text + "|" + mtime_text;
}

} // namespace lumen
