#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <unordered_map>

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

/// What a cached matmul primitive was made for: C[m, n] (fp32, row stride ldc) = alpha A[m, k]
/// B[k, n] + beta C with A and B of `type` (A's row stride lda; B's ldb, read as [n, k] rows
/// when `b_transposed`; ldb 0: B pre-packed in the layout oneDNN chose).
struct matmul_shape {
    dnnl::memory::data_type type;
    std::size_t m, n, k, lda, ldb, ldc;
    bool b_transposed;
    float alpha, beta;
    bool operator==(const matmul_shape&) const = default;
};

struct matmul_shape_hash {
    std::size_t operator()(const matmul_shape& x) const noexcept {
        std::size_t h = 1469598103934665603ull;
        for (std::size_t v : {static_cast<std::size_t>(x.type), x.m, x.n, x.k, x.lda, x.ldb, x.ldc, std::size_t(x.b_transposed),
                              std::size_t(std::bit_cast<std::uint32_t>(x.alpha)), std::size_t(std::bit_cast<std::uint32_t>(x.beta))})
            h = (h ^ v) * 1099511628211ull;
        return h;
    }
};

/// A matmul primitive and its operands' descriptions.
struct cached_matmul {
    dnnl::matmul primitive;
    dnnl::memory::desc a, b, c;
};

/// This thread's primitive for `shape` (made on first use; shapes vary with batch lengths, so
/// the cache is bounded). `packed_b`: B, pre-packed, when shape.ldb is 0.
inline const cached_matmul& matmul_for(const matmul_shape& shape, const dnnl::memory* packed_b = nullptr) {
    using dims = dnnl::memory::dims;
    thread_local std::unordered_map<matmul_shape, cached_matmul, matmul_shape_hash> cache;
    auto found = cache.find(shape);
    if (found != cache.end()) return found->second;
    if (cache.size() >= 256) cache.clear();
    const auto m = static_cast<std::int64_t>(shape.m), n = static_cast<std::int64_t>(shape.n), k = static_cast<std::int64_t>(shape.k);
    const auto ldb = static_cast<std::int64_t>(shape.ldb);
    const dnnl::memory::desc a_md(dims{m, k}, shape.type, dims{static_cast<std::int64_t>(shape.lda), 1});
    const dnnl::memory::desc b_md =
        packed_b != nullptr ? packed_b->get_desc() : dnnl::memory::desc(dims{k, n}, shape.type, shape.b_transposed ? dims{1, ldb} : dims{ldb, 1});
    const dnnl::memory::desc c_md(dims{m, n}, dnnl::memory::data_type::f32, dims{static_cast<std::int64_t>(shape.ldc), 1});
    const dnnl::matmul::primitive_desc descriptor(dnnl::matmul::desc(a_md, b_md, c_md), scale_and_accumulate(shape.alpha, shape.beta), engine());
    return cache.emplace(shape, cached_matmul{dnnl::matmul(descriptor), a_md, b_md, c_md}).first->second;
}

/// Runs the matmul of `shape` on A, B and C (B as `shape` describes it, or the pre-packed `packed_b`).
inline void matmul(const matmul_shape& shape, const void* a, const void* b, float* c, const dnnl::memory* packed_b = nullptr) {
    const auto& entry = matmul_for(shape, packed_b);
    auto& s = stream();
    dnnl::memory a_mem(entry.a, engine(), const_cast<void*>(a));
    dnnl::memory c_mem(entry.c, engine(), c);
    if (packed_b != nullptr) {
        entry.primitive.execute(s, {{DNNL_ARG_SRC, a_mem}, {DNNL_ARG_WEIGHTS, *packed_b}, {DNNL_ARG_DST, c_mem}});
    } else {
        dnnl::memory b_mem(entry.b, engine(), const_cast<void*>(b));
        entry.primitive.execute(s, {{DNNL_ARG_SRC, a_mem}, {DNNL_ARG_WEIGHTS, b_mem}, {DNNL_ARG_DST, c_mem}});
    }
    s.wait();
}

}  // namespace lorahub::cpu::onednn
