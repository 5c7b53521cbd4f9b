#pragma once

#include <cstdlib>
#include <filesystem>
#include <optional>

#include <lorahub/io/hub_manifest.hpp>

#include "build_settings.hpp"

namespace lorahub::cli {

/// Where the demo hub is: $LORAHUB_DEMO_HUB, else the source tree's examples/demo-hub.
inline std::filesystem::path demo_hub_root() {
    if (const char* override_path = std::getenv("LORAHUB_DEMO_HUB")) return override_path;
    return LORAHUB_DEMO_HUB_DIR;
}

/// The demo hub's manifest, or nothing when there is no hub.json at demo_hub_root().
inline std::optional<io::hub_manifest> find_demo_hub() {
    const auto root = demo_hub_root();
    if (root.empty() || !std::filesystem::exists(root / "hub.json")) return std::nullopt;
    return io::load_hub_manifest(root);
}

}  // namespace lorahub::cli
