#pragma once
// The status page served at GET / on the admin listener: one self-contained HTML document (inline
// CSS and JS, nothing fetched but /status and the admin API of the same origin). Its source is
// admin/status_page.html; the build embeds it (CMakeLists.txt), so the binary needs no files.

#include <string_view>

namespace sluice::admin {

std::string_view status_page_html();

}  // namespace sluice::admin
