#pragma once

/// The CUDA runtime as the CUDA backend uses it: errors turned into lorahub::error, device
/// memory owned by RAII buffers, and one session per host thread holding the stream, the
/// cuBLAS handle and the cuBLAS workspace every primitive runs on. Include only from files
/// nvcc compiles; generic headers never include this.

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "lorahub/core/error.hpp"

namespace lorahub::cuda {

inline void check(cudaError_t status, const char* what) {
    if (status != cudaSuccess) throw error(std::string("CUDA ") + what, cudaGetErrorString(status));
}
inline void check(cublasStatus_t status, const char* what) {
    if (status != CUBLAS_STATUS_SUCCESS) throw error(std::string("cuBLAS ") + what, cublasGetStatusString(status));
}

/// The number of CUDA devices visible to this process; 0 when there is no driver or no GPU.
inline int device_count() noexcept {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        (void)cudaGetLastError();  // clear the sticky "no device" error
        return 0;
    }
    return count;
}

/// Device memory for `size()` values of T; resize() keeps no contents and reallocates only
/// when growing, so a buffer sized by a first call costs nothing afterwards.
template <class T>
class device_buffer {
public:
    device_buffer() = default;
    explicit device_buffer(std::size_t size) { resize(size); }
    device_buffer(const device_buffer&) = delete;
    device_buffer& operator=(const device_buffer&) = delete;
    device_buffer(device_buffer&& other) noexcept
        : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)), capacity_(std::exchange(other.capacity_, 0)) {}
    device_buffer& operator=(device_buffer&& other) noexcept {
        std::swap(data_, other.data_);
        std::swap(size_, other.size_);
        std::swap(capacity_, other.capacity_);
        return *this;
    }
    ~device_buffer() {
        if (data_) (void)cudaFree(data_);
    }

    void resize(std::size_t size) {
        if (size > capacity_) {
            T* fresh = nullptr;
            check(cudaMalloc(reinterpret_cast<void**>(&fresh), size * sizeof(T)), "cudaMalloc");
            if (data_) (void)cudaFree(data_);
            data_ = fresh;
            capacity_ = size;
        }
        size_ = size;
    }
    T* data() noexcept { return data_; }
    const T* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }

private:
    T* data_ = nullptr;
    std::size_t size_ = 0, capacity_ = 0;
};

/// The stream, cuBLAS handle and workspace of the calling host thread. The workspace is
/// owned here and set before any product, so that a captured CUDA graph never allocates.
class session {
public:
    static constexpr std::size_t workspace_bytes = std::size_t{32} << 20;

    static session& current() {
        thread_local session instance;
        return instance;
    }
    cudaStream_t stream() const noexcept { return stream_; }
    cublasHandle_t blas() const noexcept { return blas_; }
    void synchronize() const { check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize"); }

    session(const session&) = delete;
    session& operator=(const session&) = delete;
    ~session() {
        if (blas_) (void)cublasDestroy(blas_);
        if (stream_) (void)cudaStreamDestroy(stream_);
    }

private:
    session() {
        if (device_count() == 0) throw error("CUDA", "no CUDA device is visible to this process");
        check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
        check(cublasCreate(&blas_), "cublasCreate");
        check(cublasSetStream(blas_, stream_), "cublasSetStream");
        workspace_.resize(workspace_bytes);
        check(cublasSetWorkspace(blas_, workspace_.data(), workspace_bytes), "cublasSetWorkspace");
    }
    cudaStream_t stream_ = nullptr;
    cublasHandle_t blas_ = nullptr;
    device_buffer<unsigned char> workspace_;
};

/// Host values into device memory on the session's stream (the host copy may be released
/// when this returns: the copy is synchronous with respect to the host for pageable memory).
template <class T>
void upload(std::span<const T> host, T* device) {
    if (host.empty()) return;
    check(cudaMemcpyAsync(device, host.data(), host.size_bytes(), cudaMemcpyHostToDevice, session::current().stream()), "upload");
}
template <class T>
device_buffer<T> to_device(std::span<const T> host) {
    device_buffer<T> buffer(host.size());
    upload(host, buffer.data());
    return buffer;
}
/// Device values back to the host; waits for the stream.
template <class T>
std::vector<T> to_host(const T* device, std::size_t count) {
    std::vector<T> host(count);
    if (count == 0) return host;
    auto& s = session::current();
    check(cudaMemcpyAsync(host.data(), device, count * sizeof(T), cudaMemcpyDeviceToHost, s.stream()), "download");
    s.synchronize();
    return host;
}

}  // namespace lorahub::cuda
