#include "process_group.hpp"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include <lorahub/core/error.hpp>

#include "build_settings.hpp"

#if defined(LORAHUB_CLI_WITH_MPI)
// MPI's C interface only: without these, Open MPI's and MPICH's mpi.h declare their C++ bindings too
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace lorahub::cli {
namespace {

/// Set by the launchers lorahub knows: Open MPI's mpirun, MPICH's hydra and srun --mpi=pmi2 (PMI),
/// srun --mpi=pmix and Open MPI 4+ (PMIx).
bool launched_as_mpi_job() {
    for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
        if (std::getenv(variable) != nullptr) return true;
    return false;
}

#if defined(LORAHUB_CLI_WITH_MPI)
void check(int status, const char* call) {
    if (status == MPI_SUCCESS) return;
    char message[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(status, message, &length);
    throw io_error("MPI", std::string(call) + " failed: " + std::string(message, static_cast<std::size_t>(length)));
}
#endif

}  // namespace

process_group::process_group() {
    if (!launched_as_mpi_job()) return;
#if defined(LORAHUB_CLI_WITH_MPI)
    check(MPI_Init(nullptr, nullptr), "MPI_Init");
    joined_ = true;
    int rank = 0, size = 1, local_rank = 0, local_size = 1;
    MPI_Comm host;
    check(MPI_Comm_rank(MPI_COMM_WORLD, &rank), "MPI_Comm_rank");
    check(MPI_Comm_size(MPI_COMM_WORLD, &size), "MPI_Comm_size");
    check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &host), "MPI_Comm_split_type");
    check(MPI_Comm_rank(host, &local_rank), "MPI_Comm_rank");
    check(MPI_Comm_size(host, &local_size), "MPI_Comm_size");
    MPI_Comm_free(&host);
    rank_ = static_cast<std::size_t>(rank), size_ = static_cast<std::size_t>(size);
    local_rank_ = static_cast<std::size_t>(local_rank), local_size_ = static_cast<std::size_t>(local_size);
#else
    const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
    if (size == nullptr) size = std::getenv("PMI_SIZE");
    if (size != nullptr && std::string(size) != "1")
        throw unsupported_error("MPI", "this lorahub was built without MPI, so each of the job's processes would run the whole sweep: "
                                       "install libopenmpi-dev and build again, or run it without mpirun");
#endif
}

process_group::~process_group() {
#if defined(LORAHUB_CLI_WITH_MPI)
    if (joined_) MPI_Finalize();
#endif
}

int process_group::share_cores() const {
    if (std::getenv("OMP_NUM_THREADS") != nullptr) return omp_get_max_threads();
    const int host_cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int threads = std::max(1, std::min(omp_get_num_procs(), host_cores / static_cast<int>(local_size_)));
    omp_set_num_threads(threads);
    return threads;
}

std::vector<run_result> process_group::gather(std::span<const run_result> mine) const {
    if (size_ == 1) return {mine.begin(), mine.end()};
#if defined(LORAHUB_CLI_WITH_MPI)
    constexpr int fields = 5;
    std::vector<double> packed;
    for (const auto& result : mine)
        packed.insert(packed.end(), {static_cast<double>(result.item), result.accuracy, result.objective, result.seconds, result.wall_seconds});
    const int count = static_cast<int>(packed.size());
    std::vector<int> counts(rank_ == 0 ? size_ : 0), offsets(counts.size());
    check(MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Gather");
    std::vector<double> all;
    if (rank_ == 0) {
        for (std::size_t r = 1; r < size_; ++r) offsets[r] = offsets[r - 1] + counts[r - 1];
        all.resize(static_cast<std::size_t>(offsets.back() + counts.back()));
    }
    check(MPI_Gatherv(packed.data(), count, MPI_DOUBLE, all.data(), counts.data(), offsets.data(), MPI_DOUBLE, 0, MPI_COMM_WORLD), "MPI_Gatherv");
    std::vector<run_result> results;
    for (std::size_t at = 0; at + fields <= all.size(); at += fields)
        results.push_back({static_cast<std::size_t>(all[at]), all[at + 1], all[at + 2], all[at + 3], all[at + 4]});
    return results;
#else
    return {mine.begin(), mine.end()};
#endif
}

void process_group::abort(int status) const {
#if defined(LORAHUB_CLI_WITH_MPI)
    if (joined_) MPI_Abort(MPI_COMM_WORLD, status);
#endif
    std::exit(status);
}

}  // namespace lorahub::cli
