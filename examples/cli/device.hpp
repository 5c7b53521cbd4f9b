#pragma once

#include <string>

#include <lorahub/core/error.hpp>

#include "build_settings.hpp"

#if defined(LORAHUB_CLI_WITH_CUDA)
#include <cuda_runtime_api.h>
#endif

namespace lorahub::cli {

/// CUDA devices visible to this process (0 without a driver, a GPU, or a CUDA build).
inline int visible_cuda_devices() {
#if defined(LORAHUB_CLI_WITH_CUDA)
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) return 0;
    return count;
#else
    return 0;
#endif
}

/// Checks --device: "cpu" runs; "cuda" is refused with the reason, never a crash.
inline void require_device(const std::string& device) {
    if (device == "cpu") return;
    if (device != "cuda") throw argument_error("--device", "\"" + device + "\" is not cpu or cuda");
#if !defined(LORAHUB_CLI_WITH_CUDA)
    throw unsupported_error("--device cuda", "this lorahub was built without CUDA (configure with -DLORAHUB_WITH_CUDA=ON)");
#else
    if (visible_cuda_devices() == 0) throw unsupported_error("--device cuda", "no CUDA device is visible to this process");
    throw unsupported_error("--device cuda", "the CLI's models do not run on the CUDA backend yet: the CLI is compiled by the host "
                                             "compiler, and t5::model<cuda::backend> and llama::model<cuda::backend> are instantiated "
                                             "only in code nvcc compiles (tests/model/*/model_cuda_test.cu)");
#endif
}

}  // namespace lorahub::cli
