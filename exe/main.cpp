// The command line of SPEC.md: run / check / demo / help / --version; its text is in help.cpp.
#include "config/admin_rules.hpp"
#include "config/kubernetes.hpp"
#include "config/loader.hpp"
#include "config/summary.hpp"
#include "config/timeout_chain.hpp"
#include "demo/demo.hpp"
#include "exe/discovery_check.hpp"
#include "exe/help.hpp"
#include "proxy/log/event_log.hpp"
#include "proxy/runtime/runtime.hpp"

#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace {

struct options {
    std::string command;
    std::string topic;  // help COMMAND
    bool man = false;   // help --man
    std::optional<std::string> config_file;
    bool strict = false;
    bool json = false;        // check --format json
    bool kubernetes = false;  // check --kubernetes
    bool offline = false;     // check --offline: resolve no discovery name
    bool allow_chain_errors = false;
};

std::optional<options> parse(int argc, char** argv)
{
    options o;
    std::vector<std::string> args(argv + 1, argv + argc);
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto& a = args[i];
        if ((a == "-c" || a == "--config") && i + 1 < args.size())
            o.config_file = args[++i];
        else if (a == "--strict")
            o.strict = true;
        else if (a == "--allow-chain-errors")
            o.allow_chain_errors = true;
        else if (a == "--kubernetes")
            o.kubernetes = true;
        else if (a == "--offline")
            o.offline = true;
        else if (a == "--man")
            o.man = true;
        else if (a == "--format") {
            const std::string format = i + 1 < args.size() ? args[++i] : "";
            if (format != "json" && format != "text") {
                std::cerr << "sluice: --format takes json or text\n" << sluice::cli::usage();
                return std::nullopt;
            }
            o.json = format == "json";
        } else if (a == "--version" || a == "--help" || a == "-h")
            o.command = a == "--version" ? "version" : "help";
        else if (o.command.empty() && a.front() != '-')
            o.command = a;
        else if (o.command == "help" && o.topic.empty() && a.front() != '-')
            o.topic = a;
        else {
            std::cerr << "sluice: unexpected argument '" << a << "'\n" << sluice::cli::usage();
            return std::nullopt;
        }
    }
    return o;
}

// --help, help COMMAND, help --man.
int help(const options& o)
{
    if (o.man) {
        std::cout << sluice::cli::man_page();
        return 0;
    }
    if (o.topic.empty()) {
        std::cout << sluice::cli::usage();
        return 0;
    }
    const auto text = sluice::cli::command_help(o.topic == "--version" ? "version" : o.topic);
    if (!text) {
        std::cerr << "sluice help: no command is named '" << o.topic << "'\n"
                  << sluice::cli::usage();
        return 2;
    }
    std::cout << *text;
    return 0;
}

sluice::config::loaded load(const options& o)
{
    if (o.config_file) return sluice::config::load_file(*o.config_file);
    return sluice::config::load_string(sluice::config::default_config_yaml(), "<embedded default>");
}

void print_warnings(const std::vector<std::string>& warnings)
{
    for (const auto& w : warnings) std::cerr << "warning: " << w << '\n';
}

// --format json: only the JSON object on stdout, also for a config that does not load, so
// tooling reads one shape; the loader's errors and warnings join the findings as rule "config".
int check_json(const options& o)
{
    using namespace sluice::config;
    const auto config_finding = [&](finding::severity level, const std::string& text) {
        return finding{level, "config", *o.config_file, text, ""};
    };
    chain_report report;
    std::vector<sluice::cli::discovery_result> discovered;
    try {
        auto cfg = load(o);
        report = analyze_timeouts(cfg.config);
        for (const auto& w : cfg.warnings)
            report.findings.push_back(config_finding(finding::severity::warning, w));
        if (auto exposed = admin_exposure(cfg.config))
            report.findings.push_back(config_finding(finding::severity::error, *exposed));
        discovered = sluice::cli::check_discovery(cfg.config, o.offline);
        for (const auto& d : discovered)
            if (!d.warning.empty())
                report.findings.push_back(
                    {finding::severity::warning, "discovery", *o.config_file, d.warning, ""});
    } catch (const config_error& e) {
        for (const auto& line : e.errors())
            report.findings.push_back(config_finding(finding::severity::error, line));
    }
    std::cout << format_json(report, o.strict,
                             "\"discovery\": " + sluice::cli::format_json(discovered));
    return passes(report, o.strict) ? 0 : 1;
}

// --kubernetes: only the YAML on stdout, so it can be pasted or piped; what fails the check goes
// to stderr, and the exit code is check's.
int check_kubernetes(const options& o)
{
    using namespace sluice::config;
    auto cfg = load(o);
    std::cout << format_kubernetes(cfg.config, kubernetes_values_for(cfg.config));
    print_warnings(cfg.warnings);
    const auto report = analyze_timeouts(cfg.config);
    for (const auto& f : report.findings)
        if (f.level == finding::severity::error) std::cerr << "error: " << log_line(f) << '\n';
    const auto exposed = admin_exposure(cfg.config);
    if (exposed) std::cerr << "error: " << *exposed << '\n';
    if (passes(report, o.strict) && !exposed && !(o.strict && !cfg.warnings.empty())) return 0;
    std::cerr << "config has errors" << (o.strict ? " or warnings (--strict)" : "")
              << ": FAIL (sluice check -c FILE says more)\n";
    return 1;
}

int check(const options& o)
{
    if (!o.config_file) {
        std::cerr << "sluice check: which file? use: sluice check -c FILE\n";
        return 2;
    }
    if (o.json && o.kubernetes) {
        std::cerr << "sluice check: --kubernetes prints YAML; leave out --format json\n";
        return 2;
    }
    if (o.kubernetes) return check_kubernetes(o);
    if (o.json) return check_json(o);
    auto cfg = load(o);
    const auto report = sluice::config::analyze_timeouts(cfg.config);
    const auto discovered = sluice::cli::check_discovery(cfg.config, o.offline);
    for (const auto& d : discovered)
        if (!d.warning.empty()) cfg.warnings.push_back(d.warning);
    std::cout << sluice::config::summarize(cfg.config) << '\n'
              << sluice::cli::format_text(discovered) << sluice::config::format_table(report);
    print_warnings(cfg.warnings);
    // Only `check` fails on it: `run` serves GETs to load balancers and refuses POSTs (403).
    const auto exposed = sluice::config::admin_exposure(cfg.config);
    if (exposed) std::cerr << "error: " << *exposed << '\n';
    if (!sluice::config::passes(report, false) || exposed) {
        std::cout << "config has errors: FAIL\n";
        return 1;
    }
    const bool failed = o.strict && !(cfg.warnings.empty() && report.findings.empty());
    std::cout << (failed ? "config has warnings (--strict): FAIL\n" : "config OK\n");
    return failed ? 1 : 0;
}

int run(const options& o)
{
    using sluice::proxy::log_event;
    using sluice::proxy::severity;
    using level = sluice::config::finding::severity;
    auto cfg = load(o);
    for (const auto& w : cfg.warnings) log_event(severity::warning, w);
    // What `sluice check` says about the timeout chain, so it is seen even unchecked; an error
    // fails check, so it stops run too (SPEC.md: nothing starts on an error).
    const auto report = sluice::config::analyze_timeouts(cfg.config);
    for (const auto* list : {&report.findings, &report.notes})
        for (const auto& f : *list)
            log_event(f.level == level::error     ? severity::error
                      : f.level == level::warning ? severity::warning
                                                  : severity::info,
                      sluice::config::log_line(f));
    if (const auto errors = sluice::config::error_count(report); errors > 0) {
        const auto n = std::to_string(errors) + " error(s)";
        if (!o.allow_chain_errors) {
            log_event(severity::error,
                      "the timeout chain of " + cfg.config.source + " has " + n +
                          " (above, each with its fix); nothing was started. Fix them "
                          "(`sluice check -c FILE` shows the chain), or start anyway with "
                          "--allow-chain-errors");
            sluice::proxy::flush_event_log();
            return 1;
        }
        log_event(severity::warning, "starting despite " + n +
                                         " in the timeout chain "
                                         "(--allow-chain-errors); reloads accept them too");
    }
    int code;
    {
        sluice::proxy::runtime rt(std::move(cfg.config), o.config_file.value_or(""),
                                  o.allow_chain_errors);
        code = rt.run();
    }
    sluice::proxy::flush_event_log();
    return code;
}

}  // namespace

int main(int argc, char** argv)
{
    auto o = parse(argc, argv);
    if (!o) return 2;
    try {
        if (o->command == "version") {
            std::cout << "sluice " << SLUICE_VERSION << '\n';
            return 0;
        }
        if (o->command == "run") return run(*o);
        if (o->command == "check") return check(*o);
        if (o->command == "demo") return sluice::proxy::run_demo();
        if (o->command == "help") return help(*o);
        if (o->command.empty()) {
            std::cerr << sluice::cli::usage();
            return 2;
        }
        std::cerr << "sluice: unknown command '" << o->command << "'\n" << sluice::cli::usage();
        return 2;
    } catch (const sluice::config::config_error& e) {
        for (const auto& line : e.errors()) std::cerr << "error: " << line << '\n';
        std::cerr << "sluice: the config has " << e.errors().size()
                  << " error(s); nothing was started\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "sluice: " << e.what() << '\n';
        sluice::proxy::flush_event_log();
        return 1;
    }
}
