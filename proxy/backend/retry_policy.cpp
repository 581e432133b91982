#include "proxy/backend/retry_policy.hpp"

namespace sluice::proxy {

namespace {

bool allowed_by_policy(const attempt_failure& f, const config::retries& policy)
{
    if (f.what == attempt_failure::kind::connect_failure)
        return policy.on_connect_failure;
    return policy.on_empty_response && f.idempotent;
}

}  // namespace

retry_decision decide_retry(const attempt_failure& f, const config::retries& policy,
                            retry_budget& budget)
{
    if (f.body_sent)
        return {};
    if (f.what == attempt_failure::kind::empty_response && f.reused_connection &&
        !budget.free_used) {
        budget.free_used = true;
        return {retry_decision::kind::free_stale, "stale_connection", false};
    }
    if (budget.counted >= policy.attempts || !allowed_by_policy(f, policy))
        return {};
    ++budget.counted;
    const bool connect = f.what == attempt_failure::kind::connect_failure;
    return {retry_decision::kind::counted, connect ? "connect_failure" : "empty_response", true};
}

}  // namespace sluice::proxy
