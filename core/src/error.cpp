#include "lumen/error.hpp"

namespace lumen {

Error::Error(const std::string& what) : std::runtime_error(what) {}
Error::~Error() = default;

ConfigError::ConfigError(std::string param, const std::string& what) : Error(what), param_(std::move(param)) {}
ConfigError::~ConfigError() = default;

InputError::InputError(const std::string& what) : Error(what) {}
InputError::~InputError() = default;

} // namespace lumen
