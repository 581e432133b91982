#include "exe/help.hpp"

#include <algorithm>
#include <array>

namespace sluice::cli {
namespace {

struct flag_doc {
    std::string_view flag, text;
};

struct command_doc {
    std::string_view name, synopsis, summary, details;
    std::array<flag_doc, 5> flags;  // unused entries have an empty flag
};

constexpr std::array<command_doc, 5> commands{{
    {"run",
     "sluice run [-c FILE] [--allow-chain-errors]",
     "serve: listeners, backends, health checks and the admin listener",
     "Without -c an embedded default config is used (127.0.0.1:8080 in front of one app server "
     "at 127.0.0.1:8000, admin on 127.0.0.1:9090). A config with an error, or whose timeout "
     "chain has an error, starts nothing, as check fails it. SIGHUP or POST /reload on the admin "
     "listener reloads the file; SIGTERM or SIGINT drains and stops.",
     {{{"-c, --config FILE", "the YAML config to serve"},
       {"--allow-chain-errors",
        "start (and reload) even when the timeout chain has errors, saying so in the log"}}}},
    {"check",
     "sluice check -c FILE [--strict] [--format json|text] [--offline] [--kubernetes]",
     "validate a config and print the timeout chain of every hop",
     "Prints a summary of the config and the timeouts of every hop side by side, with each "
     "misalignment in a plain sentence and its fix. Errors exit 1; warnings are printed and exit "
     "0 unless --strict. An admin.bind reachable from other machines without admin.token_file is "
     "an error. Each backends[].discovery name is resolved once, as run would at start-up, and "
     "the servers found are listed (ADDRESS:PORT and weight); a failed resolution (timeout, "
     "servfail, nxdomain, empty) is a warning, since run starts without those servers and asks "
     "again.",
     {{{"-c, --config FILE", "the YAML config to check"},
       {"--strict", "warnings fail the check too (exit 1)"},
       {"--format json|text",
        "json: one object {ok, findings, rows, discovery} on stdout for tooling, also for a "
        "config that does not load; text (the default): the table and sentences"},
       {"--offline",
        "resolve no discovery name (where the resolvers cannot be reached, as in CI); the "
        "servers found are then not shown"},
       {"--kubernetes",
        "print instead the pod-spec values that agree with the config, as YAML to paste or "
        "apply as a patch: container ports, readiness (/readyz) and liveness (/livez) probes on "
        "the admin port, terminationGracePeriodSeconds covering admin.drain_notice + "
        "timeouts.drain, the app container's preStop for the sidecar layout, and notes (such as "
        "an admin.bind the kubelet cannot reach); deploy/kubernetes/ has both layouts"}}}},
    {"demo",
     "sluice demo",
     "a proxy in front of two built-in demo app servers, for a first look",
     "Serves on 127.0.0.1:8080 with the admin listener and its status page on 127.0.0.1:9090.",
     {}},
    {"help",
     "sluice help [COMMAND] [--man]",
     "describe every command, or one in full",
     "Without COMMAND the same as --help.",
     {{{"--man", "print the manual page (troff), the source of docs/sluice.1"}}}},
    {"version", "sluice --version", "print the version", "", {}},
}};

constexpr std::string_view global_flags =
    "  -h, --help                 every command and flag (this text)\n"
    "  --version                  the version\n";

constexpr std::string_view admin_text =
    "GET /healthz (200 free, 503 busy, 503 draining), /livez, /readyz, /metrics (Prometheus), "
    "/status (JSON) and / (the status page, refreshed every 2 s) stay open. "
    "POST /servers/BACKEND/SERVER/state with body ready, drain or maint; "
    "POST /servers/BACKEND/SERVER/weight with body N or N% of the configured weight (0% drains); "
    "POST /reload (as SIGHUP: 200 with what changed, or 400 with the config error). "
    "A state set by the API holds until the API sets ready, also across reloads. "
    "With admin.token_file every POST needs Authorization: Bearer TOKEN; without it POST is "
    "allowed only when admin.bind is loopback or a unix socket.";

// `text` in lines of at most 100 columns; `first` starts the first line, the others start with
// as many spaces.
std::string wrapped(std::string first, std::string_view text)
{
    constexpr std::size_t width = 100;
    const std::string indent(first.size(), ' ');
    std::string out, line = std::move(first);
    std::size_t words = 0;
    while (!text.empty()) {
        const auto end = text.find(' ');
        const auto word = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        if (words > 0 && line.size() + 1 + word.size() > width) {
            out += line + "\n";
            line = indent;
            words = 0;
        }
        line += (words++ > 0 ? " " : "") + std::string(word);
    }
    return out + line + "\n";
}

std::string flag_lines(const command_doc& c, std::string_view indent)
{
    std::string out;
    for (const auto& f : c.flags) {
        if (f.flag.empty()) continue;
        std::string left = std::string(indent) + std::string(f.flag);
        left.resize(std::max<std::size_t>(left.size() + 2, 29), ' ');
        out += wrapped(left, f.text);
    }
    return out;
}

// Troff: a backslash is \e, a minus is \-, a line may not start with a dot or a quote.
std::string roff(std::string_view text)
{
    std::string out;
    for (char c : text) {
        if (c == '\\')
            out += "\\e";
        else if (c == '-')
            out += "\\-";
        else
            out += c;
    }
    if (!out.empty() && (out.front() == '.' || out.front() == '\'')) out.insert(0, "\\&");
    return out;
}

}  // namespace

std::string usage()
{
    std::string out = "usage: sluice COMMAND [FLAGS]   (sluice help COMMAND says more)\n\n";
    for (const auto& c : commands) {
        out += "  " + std::string(c.synopsis) + "\n      " + std::string(c.summary) + "\n";
        out += flag_lines(c, "      ");
    }
    return out + "\nflags for any command:\n" + std::string(global_flags);
}

std::optional<std::string> command_help(std::string_view command)
{
    for (const auto& c : commands) {
        if (c.name != command) continue;
        std::string out = "usage: " + std::string(c.synopsis) + "\n\n" + std::string(c.summary) +
                          ".\n";
        if (!c.details.empty()) out += wrapped("", c.details);
        if (!flag_lines(c, "").empty()) out += "\nflags:\n" + flag_lines(c, "  ");
        if (c.name == "run") out += "\n" + wrapped("admin listener: ", admin_text);
        return out;
    }
    return std::nullopt;
}

std::string man_page()
{
    std::string out = ".TH SLUICE 1 \"\" \"sluice " SLUICE_VERSION "\" \"User Commands\"\n"
                      ".SH NAME\nsluice \\- health\\-aware HTTP reverse proxy and load balancer\n"
                      ".SH SYNOPSIS\n";
    for (const auto& c : commands) out += ".B " + roff(c.synopsis) + "\n.br\n";
    out += ".SH DESCRIPTION\nsluice queues requests at the proxy, sends each app server only as "
           "many as it has workers, answers its load balancer's health check off the worker "
           "pool, and checks the timeouts of every hop together.\n.SH COMMANDS\n";
    for (const auto& c : commands) {
        out += ".SS " + roff(c.name) + "\n.B " + roff(c.synopsis) + "\n.PP\n" + roff(c.summary) +
               ".\n";
        if (!c.details.empty()) out += roff(c.details) + "\n";
        for (const auto& f : c.flags)
            if (!f.flag.empty()) out += ".TP\n.B " + roff(f.flag) + "\n" + roff(f.text) + "\n";
    }
    out += ".SH OPTIONS\n.TP\n.B \\-h, \\-\\-help\nevery command and flag\n"
           ".TP\n.B \\-\\-version\nthe version\n"
           ".SH SIGNALS\n.TP\n.B SIGHUP\nreload the config file: on an error keep serving the "
           "previous one and log why\n.TP\n.B SIGTERM, SIGINT\nanswer /healthz with 503 draining, "
           "serve on for admin.drain_notice, stop accepting, let requests in flight finish "
           "within timeouts.drain, exit 0; a second signal exits at once\n"
           ".SH ADMIN LISTENER\n" +
           roff(admin_text) +
           "\n"
           ".SH EXIT STATUS\n0 on success; 1 for a config error or a failed check; 2 for a "
           "command line that cannot be understood.\n";
    return out;
}

}  // namespace sluice::cli
