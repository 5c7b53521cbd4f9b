// model_work on the bf16 CPU backend, for every model family of the registry.
#include "model_work_impl.hpp"

template struct lorahub::cli::model_work<lorahub::cpu::bf16_backend>;
