// Error types that may cross the plugin boundary.
//
// Rule (see abi.hpp): plugins and host share one C++ runtime, enforced by the build
// fingerprint, so exceptions may cross. Stages throw these types (or any std::exception);
// the host catches std::exception. The classes are exported from the core with out-of-line
// destructors so their type information is unique across shared objects.
#pragma once

#include <stdexcept>
#include <string>

namespace lumen {

/// Base of all Lumen errors.
class Error : public std::runtime_error {
public:
  explicit Error(const std::string& what);
  ~Error() override;
};

/// Bad configuration: a parameter value that passed the schema but makes no sense
/// (thrown from Stage::validate). `param` names the offending parameter, if any.
class ConfigError : public Error {
public:
  ConfigError(std::string param, const std::string& what);
  ~ConfigError() override;
  [[nodiscard]] const std::string& param() const noexcept { return param_; }

private:
  std::string param_;
};

/// Bad input data: a corrupt or truncated file, a missing array, wrong units.
/// The item is recorded as failed and the run goes on.
class InputError : public Error {
public:
  explicit InputError(const std::string& what);
  ~InputError() override;
};

} // namespace lumen
