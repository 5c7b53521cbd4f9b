#pragma once

/// Umbrella header: everything a user of the library needs.

#include "lorahub/core/dtype.hpp"
#include "lorahub/core/error.hpp"
#include "lorahub/io/atomic_output.hpp"
#include "lorahub/io/examples.hpp"
#include "lorahub/io/json.hpp"
#include "lorahub/io/mapped_file.hpp"
#include "lorahub/io/peft_adapter.hpp"
#include "lorahub/io/peft_config.hpp"
#include "lorahub/io/safetensors.hpp"
#include "lorahub/io/weight_store.hpp"
#include "lorahub/lora/module.hpp"
#include "lorahub/model/t5/config.hpp"
#include "lorahub/model/t5/layout.hpp"
#include "lorahub/model/t5/tokenizer.hpp"
