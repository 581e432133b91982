#pragma once
// The command line's documentation, written once: `sluice --help`, `sluice help COMMAND` and the
// manual page docs/sluice.1 (`sluice help --man`, which a test compares with the file and renders
// with `man -l`) all come from the tables in help.cpp.

#include <optional>
#include <string>
#include <string_view>

namespace sluice::cli {

// Every command with its flags: what `sluice --help` prints.
std::string usage();
// One command in full; nullopt for a name that is not a command.
std::optional<std::string> command_help(std::string_view command);
// The manual page, in troff (man(7) macros).
std::string man_page();

}  // namespace sluice::cli
