#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include <lorahub/hub/evaluation_plan.hpp>
#include <lorahub/hub/shard.hpp>

namespace lorahub::cli {

/// The processes of the MPI job this process was launched in (by mpirun, or srun with PMI or
/// PMIx); a group of one when it was launched alone. MPI is joined on construction and left on
/// destruction; only this class's translation unit (process_group.cpp) includes <mpi.h>, and
/// a CLI built without MPI refuses to run as part of an MPI job rather than run it all alone.
class process_group {
public:
    process_group();
    ~process_group();
    process_group(const process_group&) = delete;
    process_group& operator=(const process_group&) = delete;

    std::size_t rank() const noexcept { return rank_; }
    std::size_t size() const noexcept { return size_; }
    /// This process among the group's processes on its host.
    std::size_t local_rank() const noexcept { return local_rank_; }
    std::size_t local_size() const noexcept { return local_size_; }
    /// This process's share of a sweep's runs: share rank() of size().
    shard share() const noexcept { return {rank_, size_}; }

    /// Gives this process its part of the host's cores: OpenMP threads = the cores it may run
    /// on, at most the host's cores divided among the group's processes on it, at least one.
    /// An OMP_NUM_THREADS set by the user is kept. Returns the threads.
    int share_cores() const;

    /// Every process's results on rank 0 (in rank order); nothing on the others.
    std::vector<run_result> gather(std::span<const run_result> mine) const;

    /// Ends every process of the group, after an error on this one (the others may be waiting
    /// on it in gather()).
    [[noreturn]] void abort(int status) const;

private:
    std::size_t rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
    bool joined_ = false;
};

}  // namespace lorahub::cli
