#pragma once
// The deadline header (backend `deadline_header`, "" = off): milliseconds of budget left.
// A request's budget is `configured`, shortened by the smallest well-formed value (digits only)
// of that header from the client, never lengthened: a client may ask for less time, not more.
// With the header off, the client's header is the app's business and the budget is `configured`.

#include "proxy/http/head_edits.hpp"
#include "proxy/http/message_types.hpp"

#include <chrono>
#include <string_view>

namespace sluice::proxy {

std::chrono::milliseconds request_budget(const request_head& req, std::string_view header,
                                         std::chrono::milliseconds configured);

// Replaces the client's value with what is left of the budget when the request is sent (after
// its queue wait), rounded down and never below 0.
void set_deadline_header(head_edits& edits, std::string_view header,
                         std::chrono::milliseconds remaining);

}  // namespace sluice::proxy
