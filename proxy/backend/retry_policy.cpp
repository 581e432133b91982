#include "proxy/backend/retry_policy.hpp"

#include <algorithm>
#include <iterator>

namespace sluice::proxy {

namespace {

bool allowed_by_policy(const attempt_failure& f, const config::retries& policy)
{
    if (f.what == attempt_failure::kind::connect_failure) return policy.on_connect_failure;
    return policy.on_empty_response && f.idempotent;
}

}  // namespace

bool is_idempotent(std::string_view method)
{
    constexpr std::string_view idempotent[] = {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"};
    return std::find(std::begin(idempotent), std::end(idempotent), method) != std::end(idempotent);
}

bool worker_killed(std::chrono::steady_clock::duration waited,
                   std::chrono::milliseconds worker_timeout)
{
    using namespace std::chrono_literals;
    const auto late = std::max<std::chrono::steady_clock::duration>(worker_timeout / 2, 3s);
    return worker_timeout > 0ms && waited >= worker_timeout * 9 / 10 &&
           waited <= worker_timeout + late;
}

bool retry_not_processed(bool body_streamed, std::size_t servers, retry_budget& budget)
{
    if (body_streamed || budget.not_processed + 1 >= servers) return false;
    ++budget.not_processed;
    return true;
}

retry_decision decide_retry(const attempt_failure& f, const config::retries& policy,
                            retry_budget& budget)
{
    if (f.body_sent) return {};
    const bool keepalive_race = f.reused_connection && f.waited < keepalive_race_window;
    if (f.what == attempt_failure::kind::empty_response && !keepalive_race) return {};
    if (f.what == attempt_failure::kind::empty_response && !budget.free_used) {
        budget.free_used = true;
        return {retry_decision::kind::free_stale, "stale_connection", false};
    }
    if (budget.counted >= policy.attempts || !allowed_by_policy(f, policy)) return {};
    ++budget.counted;
    const bool connect = f.what == attempt_failure::kind::connect_failure;
    return {retry_decision::kind::counted, connect ? "connect_failure" : "empty_response", true};
}

}  // namespace sluice::proxy
