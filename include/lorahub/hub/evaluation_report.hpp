#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "lorahub/core/printable.hpp"
#include "lorahub/core/text_format.hpp"
#include "lorahub/hub/evaluation_plan.hpp"
#include "lorahub/hub/evaluation_runs.hpp"
#include "lorahub/io/json.hpp"

namespace lorahub {

/// The reports of an evaluation (hub/evaluate.hpp): a markdown table, every number as JSON, a bar chart as SVG.

/// Every method of the outcomes in first-seen order (a task without a trained LoRA lacks that row).
inline std::vector<std::string> method_names(const std::vector<task_outcome>& outcomes) {
    std::vector<std::string> names;
    for (const auto& task : outcomes)
        for (const auto& method : task.methods)
            if (std::find(names.begin(), names.end(), method.method) == names.end()) names.push_back(method.method);
    return names;
}

inline const method_outcome* find_method(const task_outcome& task, const std::string& name) {
    for (const auto& method : task.methods)
        if (method.method == name) return &method;
    return nullptr;
}

/// Accuracy per method (rows) and task (columns): the mean over seeds, with the range when seeds
/// differ, and the oracle's module; then the learned objective of the LoraHub rows.
inline std::string evaluation_markdown(const std::vector<task_outcome>& outcomes) {
    const auto methods = method_names(outcomes);
    std::ostringstream out;
    auto header = [&](const char* first) {
        out << "| " << first << " |";
        for (const auto& task : outcomes) out << " " << printable(task.task) << " |";
        out << " mean |\n|---|";
        for (std::size_t i = 0; i <= outcomes.size(); ++i) out << "---|";
        out << "\n";
    };
    header("accuracy % (test)");
    for (const auto& name : methods) {
        out << "| " << printable(name) << " |";
        double sum = 0;
        std::size_t count = 0;
        for (const auto& task : outcomes) {
            const auto* method = find_method(task, name);
            if (!method) {
                out << " - |";
                continue;
            }
            const double mean = method->mean_accuracy();
            sum += mean, ++count;
            out << " " << number(mean, "%.1f");
            const auto [low, high] = std::minmax_element(method->accuracy.begin(), method->accuracy.end());
            if (*high > *low) out << " (" << number(*low, "%.0f") << "-" << number(*high, "%.0f") << ")";
            if (!method->detail.empty()) out << " (" << printable(method->detail) << ")";
            out << " |";
        }
        out << " " << (count == outcomes.size() ? number(sum / static_cast<double>(count), "%.1f") : std::string("-")) << " |\n";
    }
    bool any_objective = false;
    for (const auto& task : outcomes)
        for (const auto& method : task.methods) any_objective |= !method.objective.empty();
    if (!any_objective) return out.str();
    out << "\n";
    header("objective (few-shot)");
    for (const auto& name : methods) {
        const auto* first = find_method(outcomes.front(), name);
        if (!first || first->objective.empty()) continue;
        out << "| " << printable(name) << " |";
        double sum = 0;
        for (const auto& task : outcomes) {
            const double mean = find_method(task, name)->mean_objective();
            sum += mean;
            out << " " << number(mean, "%.4f") << " |";
        }
        out << " " << number(sum / static_cast<double>(outcomes.size()), "%.4f") << " |\n";
    }
    return out.str();
}

inline io::json evaluation_json(const std::vector<task_outcome>& outcomes, const evaluation_plan& plan, const io::json& sources) {
    io::json tasks = io::json::array();
    for (const auto& task : outcomes) {
        io::json methods = io::json::array();
        for (const auto& method : task.methods) {
            io::json entry{{"method", method.method}, {"accuracy", method.accuracy}, {"mean_accuracy", method.mean_accuracy()}};
            if (!method.objective.empty()) {
                entry["objective"] = method.objective;
                entry["mean_objective"] = method.mean_objective();
                entry["learn_seconds"] = method.seconds;
            }
            if (!method.detail.empty()) entry["module"] = method.detail;
            methods.push_back(std::move(entry));
        }
        tasks.push_back({{"task", task.task}, {"few_shot_examples", task.few_shot}, {"test_examples", task.test}, {"methods", methods}});
    }
    return {{"plan", plan_json(plan)}, {"sources", sources}, {"tasks", tasks}};
}

/// A grouped bar chart: one group per task, one bar per method (mean accuracy over seeds).
inline std::string evaluation_svg(const std::vector<task_outcome>& outcomes) {
    static const char* const palette[] = {"#7f8c8d", "#bdc3c7", "#95a5a6", "#e67e22", "#2980b9", "#27ae60",
                                          "#8e44ad", "#16a085", "#c0392b", "#f1c40f", "#2c3e50", "#d35400"};
    const auto methods = method_names(outcomes);
    // the palette for a few methods; distinct hues (alternating lightness) for more
    auto colour = [&](std::size_t m) -> std::string {
        if (methods.size() <= std::size(palette)) return palette[m];
        const double hue = 6.0 * static_cast<double>(m) / static_cast<double>(methods.size());  // sextants of the colour wheel
        const double lightness = m % 2 ? 0.38 : 0.58, saturation = m % 2 ? 0.55 : 0.70;
        const double chroma = (1 - std::abs(2 * lightness - 1)) * saturation, low = lightness - chroma / 2;
        const double second = chroma * (1 - std::abs(std::fmod(hue, 2.0) - 1));
        const double rgb[6][3] = {{chroma, second, 0}, {second, chroma, 0}, {0, chroma, second},
                                  {0, second, chroma}, {second, 0, chroma}, {chroma, 0, second}};
        const auto& c = rgb[static_cast<std::size_t>(hue) % 6];
        char hex[8];
        std::snprintf(hex, sizeof hex, "#%02x%02x%02x", static_cast<int>(255 * (c[0] + low) + 0.5), static_cast<int>(255 * (c[1] + low) + 0.5),
                      static_cast<int>(255 * (c[2] + low) + 0.5));
        return hex;
    };
    const double bar = 14, group_gap = 30, left = 60, top = 40, plot_height = 260;
    const double group_width = bar * static_cast<double>(methods.size()) + group_gap;
    const double width = std::max(520.0, left + group_width * static_cast<double>(outcomes.size()) + 20);
    const double legend_top = top + plot_height + 50, height = legend_top + 18 * static_cast<double>(methods.size()) + 10;
    std::ostringstream svg;
    svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
        << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        << "<text x=\"" << left << "\" y=\"24\" font-size=\"15\">Test accuracy per task and method (mean over seeds)</text>\n";
    auto y_at = [&](double percent) { return top + plot_height - plot_height * std::clamp(percent, 0.0, 100.0) / 100.0; };
    for (int tick = 0; tick <= 100; tick += 25) {
        svg << "<line x1=\"" << left << "\" y1=\"" << y_at(tick) << "\" x2=\"" << width - 10 << "\" y2=\"" << y_at(tick)
            << "\" stroke=\"#ddd\"/>\n<text x=\"" << left - 6 << "\" y=\"" << y_at(tick) + 4 << "\" text-anchor=\"end\">" << tick
            << "%</text>\n";
    }
    for (std::size_t t = 0; t < outcomes.size(); ++t) {
        const double group_left = left + group_gap / 2 + group_width * static_cast<double>(t);
        for (std::size_t m = 0; m < methods.size(); ++m) {
            const auto* method = find_method(outcomes[t], methods[m]);
            if (!method) continue;
            const double value = method->mean_accuracy(), x = group_left + bar * static_cast<double>(m);
            svg << "<rect x=\"" << x << "\" y=\"" << y_at(value) << "\" width=\"" << bar - 2 << "\" height=\"" << top + plot_height - y_at(value)
                << "\" fill=\"" << colour(m) << "\"><title>" << escape_xml(printable(outcomes[t].task)) << ", "
                << escape_xml(printable(methods[m])) << ": " << number(value, "%.1f") << "%</title></rect>\n";
        }
        svg << "<text x=\"" << group_left + bar * static_cast<double>(methods.size()) / 2 << "\" y=\"" << top + plot_height + 18
            << "\" text-anchor=\"middle\">" << escape_xml(printable(outcomes[t].task)) << "</text>\n";
    }
    for (std::size_t m = 0; m < methods.size(); ++m) {
        const double y = legend_top + 18 * static_cast<double>(m);
        svg << "<rect x=\"" << left << "\" y=\"" << y - 10 << "\" width=\"12\" height=\"12\" fill=\"" << colour(m)
            << "\"/>\n<text x=\"" << left + 18 << "\" y=\"" << y << "\">" << escape_xml(printable(methods[m])) << "</text>\n";
    }
    svg << "</svg>\n";
    return svg.str();
}

/// A markdown document: what each method is, the tables, and the command that made it
/// (`command_line`); `modules` is the pool's size, `timing` the closing sentence on how long it took.
inline std::string evaluation_document(const std::string& command_line, const std::vector<task_outcome>& outcomes, const evaluation_plan& plan,
                                       std::size_t modules, const std::string& timing) {
    std::ostringstream out;
    out << "# LoraHub evaluation\n\n"
        << "Exact-match accuracy in percent (upstream's: strip, lowercase, drop \".\") on each task's test examples, "
        << modules << " modules. Produced by:\n\n    " << command_line << "\n\n"
        << "- *zero-shot*: the base model alone.\n"
        << "- *ICL*: the base model with few-shot examples prepended to each test input (\"input\\noutput\" blocks).\n"
        << "- *uniform*: every module at weight 1/N (A and B averaged, LoraHub's composition rule).\n"
        << (plan.arrow_top_k > 0 ? "- *Arrow (zero-shot)*: no examples; at every layer each token is routed to the top-k of all the modules by "
                                   "|x . v_i|, v_i the top right singular vector of B_i A_i, and mixes them by softmax (PEFT's ArrowConfig).\n"
                                 : "")
        << (plan.oracle ? "- *best single module (oracle)*: the module with the highest test accuracy alone (w = e_i); it looks at the test set.\n" : "")
        << "- *LoraHub optimizer/budget*: weights learned from the few-shot examples only (objective: upstream's loss + 0.05 mean|w|), "
        << "mean over seeds 1.." << plan.seeds << " with the range in brackets; each seed composes "
        << (modules <= plan.subset ? std::string("all the modules") : std::to_string(plan.subset) + " modules drawn at random")
        << " (upstream's reproduce_bbh.py draws 20 of 196 per seed). *select k*: every module is first scored alone on the few-shot "
        << "examples (N evaluations on top of the budget) and only the k with the lowest loss are searched; *by routing*: the k modules "
        << "to which Arrow's routing sends the most of the few-shot examples' tokens (one forward pass of the base model).\n"
        << (plan.granularities.size() > 1 || plan.granularities.front() != "module"
                ? "- *per layer* / *per target*: one weight per module and transformer block / per module and target layer (N x G weights, "
                  "the L1 penalty their mean |w|), each target composed with its group's weights.\n"
                : "")
        << "- *task LoRA (upper bound)*: a LoRA trained on the task's own training data, when the hub has one.\n"
        << "- Upstream LoraHub (the pip package, NGOpt choosing COBYLA) on the demo hub, side by side: `docs/benchmarks.md` "
        << "(`bench/peers/run_upstream.sh`).\n\n"
        << evaluation_markdown(outcomes) << "\n"
        << timing << "\n";
    return out.str();
}

}  // namespace lorahub
