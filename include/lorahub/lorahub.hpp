#pragma once

/// Umbrella header: the whole public library (I/O, the T5 and Llama-family models on the CPU, the LoRA pool
/// and composers, the optimizers, learn / score / infer / merge). Each header it includes
/// also compiles on its own; include those for a smaller build.

#include "lorahub/core/dtype.hpp"
#include "lorahub/core/activation.hpp"
#include "lorahub/core/error.hpp"
#include "lorahub/core/lora.hpp"
#include "lorahub/core/primitives.hpp"
#include "lorahub/core/printable.hpp"
#include "lorahub/core/random.hpp"

#include "lorahub/io/atomic_output.hpp"
#include "lorahub/io/config_fields.hpp"
#include "lorahub/io/examples.hpp"
#include "lorahub/io/hub_manifest.hpp"
#include "lorahub/io/json.hpp"
#include "lorahub/io/mapped_file.hpp"
#include "lorahub/io/peft_adapter.hpp"
#include "lorahub/io/peft_config.hpp"
#include "lorahub/io/safetensors.hpp"
#include "lorahub/io/weight_store.hpp"

#include "lorahub/backend/cpu/backend.hpp"
#include "lorahub/backend/cpu/gemm.hpp"
#include "lorahub/backend/cpu/onednn_gemm.hpp"
#include "lorahub/backend/cpu/ops.hpp"

#include "lorahub/model/linear_layers.hpp"
#include "lorahub/model/lora_linear.hpp"
#include "lorahub/model/llama/config.hpp"
#include "lorahub/model/llama/layout.hpp"
#include "lorahub/model/llama/model.hpp"
#include "lorahub/model/llama/rotary.hpp"
#include "lorahub/model/llama/tokenizer.hpp"
#include "lorahub/model/llama/weights.hpp"
#include "lorahub/model/t5/config.hpp"
#include "lorahub/model/t5/layout.hpp"
#include "lorahub/model/t5/model.hpp"
#include "lorahub/model/t5/relative_position.hpp"
#include "lorahub/model/t5/tokenizer.hpp"
#include "lorahub/model/t5/weights.hpp"

#include "lorahub/lora/combinations.hpp"
#include "lorahub/lora/delta_sum.hpp"
#include "lorahub/lora/kernels.hpp"
#include "lorahub/lora/pool.hpp"
#include "lorahub/lora/weighted_ab.hpp"

#include "lorahub/optim/cma_es.hpp"
#include "lorahub/optim/cobyla.hpp"
#include "lorahub/optim/common.hpp"
#include "lorahub/optim/minimize.hpp"
#include "lorahub/optim/nelder_mead.hpp"
#include "lorahub/optim/random_search.hpp"

#include "lorahub/concepts.hpp"
#include "lorahub/hub/infer.hpp"
#include "lorahub/hub/learn.hpp"
#include "lorahub/hub/merge.hpp"
#include "lorahub/hub/objective.hpp"
#include "lorahub/hub/score.hpp"
