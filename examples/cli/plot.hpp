#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <lorahub/hub/learn.hpp>
#include <lorahub/core/text_format.hpp>

namespace lorahub::cli {

/// An SVG with two panels: the objective of every evaluation (dots) with the best so far
/// (line), and one bar per module weight of the result.
inline std::string learn_plot_svg(const learn_result& result, const std::vector<std::string>& module_names) {
    const double width = 760, panel = 250, left = 70, right = 20, top = 40, gap = 90;
    const double plot_width = width - left - right;
    std::ostringstream svg;
    const double height = top + panel + gap + panel + 80;
    svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
        << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    svg << "<text x=\"" << left << "\" y=\"24\" font-size=\"15\">LoraHub search: " << escape_xml(result.optimizer) << ", "
        << escape_xml(result.composer) << ", best objective " << number(result.objective) << "</text>\n";

    // panel 1: objective per evaluation
    double low = std::numeric_limits<double>::infinity(), high = -low;
    for (const auto& step : result.trace)
        if (std::isfinite(step.objective)) {
            low = std::min(low, step.objective);
            high = std::max(high, step.objective);
        }
    if (!std::isfinite(low)) low = 0, high = 1;
    if (high - low < 1e-12) high = low + 1;
    const std::size_t count = std::max<std::size_t>(result.trace.size(), 2);
    auto x_at = [&](std::size_t i) { return left + plot_width * static_cast<double>(i) / static_cast<double>(count - 1); };
    auto y_at = [&](double value) { return top + panel - panel * (std::min(value, high) - low) / (high - low); };
    svg << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << plot_width << "\" height=\"" << panel
        << "\" fill=\"none\" stroke=\"#888\"/>\n";
    for (int tick = 0; tick <= 4; ++tick) {
        const double value = low + (high - low) * tick / 4.0;
        svg << "<text x=\"" << left - 6 << "\" y=\"" << y_at(value) + 4 << "\" text-anchor=\"end\">" << number(value) << "</text>\n";
    }
    svg << "<text x=\"" << left + plot_width / 2 << "\" y=\"" << top + panel + 30 << "\" text-anchor=\"middle\">evaluation (1.."
        << result.trace.size() << ")</text>\n";
    svg << "<text x=\"16\" y=\"" << top + panel / 2 << "\" transform=\"rotate(-90 16 " << top + panel / 2
        << ")\" text-anchor=\"middle\">objective</text>\n";
    std::string best_line;
    double best = std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < result.trace.size(); ++i) {
        const double value = result.trace[i].objective;
        const bool finite = std::isfinite(value);
        svg << "<circle cx=\"" << x_at(i) << "\" cy=\"" << (finite ? y_at(value) : top) << "\" r=\"3\" fill=\""
            << (finite ? "#4a7ab5" : "#c0392b") << "\"/>\n";
        if (finite) best = std::min(best, value);
        if (std::isfinite(best)) best_line += (best_line.empty() ? "M" : " L") + number(x_at(i), "%.1f") + " " + number(y_at(best), "%.1f");
    }
    if (!best_line.empty()) svg << "<path d=\"" << best_line << "\" fill=\"none\" stroke=\"#e67e22\" stroke-width=\"2\"/>\n";

    // panel 2: module weights
    const double base = top + panel + gap, middle = base + panel / 2;
    double extent = 1e-9;
    for (double w : result.weights) extent = std::max(extent, std::abs(w));
    svg << "<rect x=\"" << left << "\" y=\"" << base << "\" width=\"" << plot_width << "\" height=\"" << panel
        << "\" fill=\"none\" stroke=\"#888\"/>\n<line x1=\"" << left << "\" y1=\"" << middle << "\" x2=\"" << left + plot_width
        << "\" y2=\"" << middle << "\" stroke=\"#444\"/>\n";
    svg << "<text x=\"" << left - 6 << "\" y=\"" << base + 10 << "\" text-anchor=\"end\">" << number(extent) << "</text>\n<text x=\""
        << left - 6 << "\" y=\"" << base + panel << "\" text-anchor=\"end\">" << number(-extent) << "</text>\n";
    const double slot = plot_width / static_cast<double>(std::max<std::size_t>(result.weights.size(), 1));
    for (std::size_t i = 0; i < result.weights.size(); ++i) {
        const double w = result.weights[i], bar = (panel / 2 - 6) * std::abs(w) / extent;
        const double x = left + slot * static_cast<double>(i) + slot * 0.15;
        svg << "<rect x=\"" << x << "\" y=\"" << (w >= 0 ? middle - bar : middle) << "\" width=\"" << slot * 0.7 << "\" height=\"" << bar
            << "\" fill=\"" << (w >= 0 ? "#27ae60" : "#c0392b") << "\"><title>" << escape_xml(module_names[i]) << ": " << number(w)
            << "</title></rect>\n";
        const double label_x = x + slot * 0.35, label_y = base + panel + 12;
        svg << "<text x=\"" << label_x << "\" y=\"" << label_y << "\" transform=\"rotate(40 " << label_x << " " << label_y
            << ")\" font-size=\"10\">" << escape_xml(module_names[i]) << "</text>\n";
    }
    svg << "</svg>\n";
    return svg.str();
}

}  // namespace lorahub::cli
