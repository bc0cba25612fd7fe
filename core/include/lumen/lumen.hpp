// The Lumen plugin SDK: include this in a plugin.
#pragma once

#include "lumen/abi.hpp"
#include "lumen/array.hpp"
#include "lumen/atomic_file.hpp"
#include "lumen/byte_source.hpp"
#include "lumen/error.hpp"
#include "lumen/file_stages.hpp"
#include "lumen/input_paths.hpp"
#include "lumen/item.hpp"
#include "lumen/meta.hpp"
#include "lumen/name_template.hpp"
#include "lumen/param.hpp"
#include "lumen/stage.hpp"
#include "lumen/version.hpp"
