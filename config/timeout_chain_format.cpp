// How `sluice check` shows a chain_report: a table an operator reads side by side with the
// config, or one JSON object for tooling. The analysis itself is in timeout_chain.cpp.
#include "config/timeout_chain.hpp"

#include "config/units.hpp"

#include <algorithm>
#include <sstream>

namespace sluice::config {
namespace {

constexpr std::size_t width = 100;  // STYLE.md's line length, so the output fits a terminal
constexpr int column = 8;

bool is_error(const finding& f) { return f.level == finding::severity::error; }

std::string_view level_name(const finding& f)
{
    switch (f.level) {
    case finding::severity::error: return "error";
    case finding::severity::warning: return "warning";
    case finding::severity::note: return "note";
    }
    return "?";
}

std::string optional_text(const std::optional<duration>& d)
{
    return d ? format_duration(*d) : "-";
}

std::string health_text(const hop_row& row)
{
    if (!row.health_interval || !row.health_timeout) return "-";
    return format_duration(*row.health_interval) + "/" + format_duration(*row.health_timeout);
}

void cell(std::ostream& out, const std::string& value)
{
    out << std::string(value.size() < column ? column - value.size() : 1, ' ') << value;
}

void table_row(std::ostream& out, const hop_row& row)
{
    const auto& t = row.effective;
    out << row.path << "\n  ";
    for (auto d : {t.upstream_idle, t.client_header, t.client_idle, t.queue, t.connect, t.server})
        cell(out, format_duration(d));
    cell(out, format_duration(row.request_deadline) + (t.request == 0s ? "*" : ""));
    cell(out, format_duration(row.keepalive_timeout) + (row.keepalive_declared ? "" : "~"));
    cell(out, optional_text(row.worker_timeout));
    cell(out, format_duration(row.pool_idle_timeout));
    out << "  " << health_text(row) << "\n";
}

// Words of `text` on lines of at most `width` columns, each after `indent`.
void wrapped(std::ostream& out, const std::string& text, const std::string& indent)
{
    std::istringstream words(text);
    std::string word, line;
    while (words >> word) {
        if (!line.empty() && indent.size() + line.size() + 1 + word.size() > width) {
            out << indent << line << "\n";
            line.clear();
        }
        line += (line.empty() ? "" : " ") + word;
    }
    if (!line.empty()) out << indent << line << "\n";
}

std::string plural(std::size_t n, const std::string& word)
{
    return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

void json_string(std::ostream& out, std::string_view s)
{
    constexpr const char* hex = "0123456789abcdef";
    out << '"';
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\')
            out << '\\' << c;
        else if (c == '\n')
            out << "\\n";
        else if (u < 0x20)
            out << "\\u00" << hex[u >> 4] << hex[u & 15];
        else
            out << c;
    }
    out << '"';
}

void json_ms(std::ostream& out, std::string_view key, const std::optional<duration>& d)
{
    out << ", ";
    json_string(out, std::string(key) + "_ms");
    out << ": ";
    if (d)
        out << d->count();
    else
        out << "null";
}

void json_finding(std::ostream& out, const finding& f)
{
    out << "{\"severity\": \"" << level_name(f) << "\", \"rule\": ";
    json_string(out, f.rule);
    out << ", \"where\": ";
    json_string(out, f.where);
    out << ", \"what\": ";
    json_string(out, f.what);
    out << ", \"fix\": ";
    json_string(out, f.fix);
    out << ", \"changes\": {";
    for (const auto& c : f.changes) {
        if (&c != f.changes.data()) out << ", ";
        json_string(out, c.key);
        out << ": ";
        json_string(out, c.value);
    }
    out << "}}";
}

void json_row(std::ostream& out, const hop_row& row)
{
    out << "{\"path\": ";
    json_string(out, row.path);
    for (const auto& f : timeout_fields) json_ms(out, f.key, row.effective.*f.value);
    json_ms(out, "request_deadline", row.request_deadline);
    json_ms(out, "keepalive_timeout", row.keepalive_timeout);
    out << ", \"keepalive_declared\": " << (row.keepalive_declared ? "true" : "false");
    json_ms(out, "worker_timeout", row.worker_timeout);
    json_ms(out, "pool_idle_timeout", row.pool_idle_timeout);
    json_ms(out, "health_interval", row.health_interval);
    json_ms(out, "health_timeout", row.health_timeout);
    out << "}";
}

template <class T, class Write>
void json_list(std::ostream& out, const std::vector<T>& items, Write write)
{
    out << "[";
    for (std::size_t i = 0; i < items.size(); ++i) {
        out << (i ? ",\n    " : "\n    ");
        write(out, items[i]);
    }
    out << (items.empty() ? "]" : "\n  ]");
}

}  // namespace

bool passes(const chain_report& report, bool strict)
{
    return strict ? report.findings.empty() : std::ranges::none_of(report.findings, is_error);
}

std::size_t error_count(const chain_report& report)
{
    return static_cast<std::size_t>(std::ranges::count_if(report.findings, is_error));
}

std::string log_line(const finding& f)
{
    const bool note = f.level == finding::severity::note;
    return "timeout chain: " + f.where + ": " + f.what + (note ? " Note: " : " Fix: ") + f.fix;
}

std::string format_table(const chain_report& report)
{
    std::ostringstream out;
    out << "timeout chain, client side first (* derived request deadline, ~ assumed keep-alive)\n"
        << "  lb_idle = upstream_idle, app_ka = app server's keepalive_timeout, "
        << "pool = keepalive.idle_timeout\n  ";
    for (const char* name : {"lb_idle", "header", "c_idle", "queue", "connect", "server", "request",
                             "app_ka", "worker", "pool"})
        cell(out, name);
    out << "  health\n";
    for (const auto& row : report.rows) table_row(out, row);
    if (report.rows.empty()) out << "(no listener leads to a backend)\n";
    out << "\n";
    bool first = true;
    for (const auto* list : {&report.findings, &report.notes}) {
        for (const auto& f : *list) {
            out << (first ? "" : "\n") << level_name(f) << " [" << f.rule << "]\n  at " << f.where
                << "\n";
            first = false;
            wrapped(out, f.what, "  ");
            wrapped(out, (f.level == finding::severity::note ? "to be exact: " : "fix: ") + f.fix,
                    "  ");
        }
    }
    const auto errors = error_count(report);
    const auto warnings = report.findings.size() - errors;
    const auto notes = report.notes.empty() ? "" : " (" + plural(report.notes.size(), "note") + ")";
    if (report.findings.empty())
        out << "timeout chain: aligned, no findings" << notes << "\n";
    else
        out << "timeout chain: " << plural(errors, "error") << ", " << plural(warnings, "warning")
            << notes << "\n";
    return out.str();
}

std::string format_json(const chain_report& report, bool strict, std::string_view more)
{
    std::ostringstream out;
    out << "{\n  \"ok\": " << (passes(report, strict) ? "true" : "false") << ",\n  \"findings\": ";
    json_list(out, report.findings, json_finding);
    out << ",\n  \"notes\": ";
    json_list(out, report.notes, json_finding);
    out << ",\n  \"rows\": ";
    json_list(out, report.rows, json_row);
    if (!more.empty()) out << ",\n  " << more;
    out << "\n}\n";
    return out.str();
}

}  // namespace sluice::config
