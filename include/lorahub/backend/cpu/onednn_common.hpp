#pragma once

#include <oneapi/dnnl/dnnl.hpp>

namespace lorahub::cpu::onednn {

/// The CPU engine every oneDNN primitive of the backend runs on, and this thread's stream.
inline dnnl::engine& engine() {
    static dnnl::engine instance(dnnl::engine::kind::cpu, 0);
    return instance;
}
inline dnnl::stream& stream() {
    thread_local dnnl::stream instance(engine());
    return instance;
}

/// C = alpha * (product) + beta * C, as oneDNN attributes: an output scale and a sum post-op.
inline dnnl::primitive_attr scale_and_accumulate(float alpha, float beta) {
    dnnl::primitive_attr attributes;
    if (alpha != 1.0f) attributes.set_output_scales(0, {alpha});
    if (beta != 0.0f) {
        dnnl::post_ops sum;
        sum.append_sum(beta);
        attributes.set_post_ops(sum);
    }
    return attributes;
}

}  // namespace lorahub::cpu::onednn
