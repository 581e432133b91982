#pragma once
// One reply line of HAProxy's agent check, parsed into what it asks for. Parser only: applying
// a reply to a server is server_state's job (HAProxy's tcpcheck_agent_expect_reply does both
// in one loop; keeping them apart lets each be tested alone).
//
// Grammar (case-insensitive, as HAProxy's strcasecmp):
//
//   reply     = line [ ( "\r" / "\n" ) *any ]     ; the line ends at the first CR or LF
//   line      = *( separator / word ) [ reason ]
//   separator = " " / "\t" / ","
//   word      = percent / weight / maxconn / admin / health / unknown
//   percent   = 1*DIGIT "%"                       ; relative to the configured weight
//   weight    = "weight:" 1*DIGIT [ "%" ]         ; without "%": absolute, 0 to 256
//   maxconn   = "maxconn:" 1*DIGIT                ; 0 = no limit, like max_connections: 0
//   admin     = "ready" / "drain" / "maint"
//   health    = "up" / "down" / "fail" / "stopped" ; the last three all mean down
//   reason    = "#" *any                          ; a word starting with "#"; runs to the end
//                                                 ; of the line, separators included; trimmed
//
// Words may come in any order; when a property is sent twice the last one wins (HAProxy keeps
// the last one too). A property not sent stays nullopt: the server keeps its current value.
//
// What counts as malformed (the reply is rejected whole, so it changes nothing):
//   * a recognised word with an invalid value: "maxconn:abc", "maxconn:-1", "150x%",
//     "weight:300", a number too large for 32 bits;
//   * a line of unknown words only ("hello world", "75" without "%").
// Unknown words next to recognised ones are ignored, as HAProxy ignores them, and reported
// through `problem` so the caller can log them while still applying the rest. An empty or
// blank line is a valid reply that asks for nothing (an agent with nothing to say must not fill
// the log every interval).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::health {

enum class agent_admin { ready, drain, maint };
// up, or one of the three words for down; kept apart so the log shows the agent's own word.
enum class agent_health { up, down, fail, stopped };

struct agent_weight {
    unsigned value = 100;
    bool relative = true;  // true: percent of the configured weight; false: absolute weight

    bool operator==(const agent_weight&) const = default;
};

struct agent_reply {
    std::optional<agent_weight> weight;
    std::optional<unsigned> max_connections;
    std::optional<agent_admin> admin;
    std::optional<agent_health> health;
    std::optional<std::string> reason;  // text after '#', trimmed; may be empty

    bool operator==(const agent_reply&) const = default;
};

// HAProxy caps a relative or absolute weight at 256.
inline constexpr unsigned agent_max_weight = 256;

// The reply in `line` (only up to its first CR or LF), or nullopt when it is malformed. When
// `problem` is given it receives why the line was rejected, or which unknown words were ignored
// in an accepted one; it is cleared otherwise.
std::optional<agent_reply> parse_agent_reply(std::string_view line, std::string* problem);

// The reply in the agent's own words, for logs and /status: "75% maxconn:30 drain (#deploying)".
std::string describe(const agent_reply& reply);

std::string_view to_string(agent_admin admin);
std::string_view to_string(agent_health health);
inline bool means_down(agent_health h) { return h != agent_health::up; }

}  // namespace sluice::health
