#include "support/http_client.hpp"

#include <charconv>

namespace sluice::test {

namespace {

constexpr std::size_t piece_size = 64 * 1024;

int to_int(std::string_view s)
{
    int v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

std::string head_of(const request_options& r)
{
    std::string head = r.method + " " + r.path + " HTTP/1.1\r\n";
    if (!r.headers.contains("Host")) head += "Host: 127.0.0.1\r\n";
    head += r.headers.serialize();
    bool has_body = r.generated_body_size > 0 || !r.body.empty();
    if (r.chunked)
        head += "Transfer-Encoding: chunked\r\n";
    else if (has_body || r.method == "POST" || r.method == "PUT")
        head += "Content-Length: " +
                std::to_string(r.generated_body_size > 0 ? r.generated_body_size : r.body.size()) +
                "\r\n";
    if (r.expect_continue) head += "Expect: 100-continue\r\n";
    return head + "\r\n";
}

std::string chunk(std::string_view data)
{
    char size[32];
    auto end = std::to_chars(size, size + sizeof size, data.size(), 16).ptr;
    return std::string(size, end) + "\r\n" + std::string(data) + "\r\n";
}

const char* describe(byte_stream::status s)
{
    switch (s) {
    case byte_stream::status::ok: return "";
    case byte_stream::status::closed: return "connection closed";
    case byte_stream::status::timeout: return "timed out";
    case byte_stream::status::malformed: return "malformed";
    }
    return "?";
}

}  // namespace

target target::unix_socket(std::string path)
{
    target t{0};
    t.unix_path = std::move(path);
    return t;
}

connection::connection(const target& to, millis connect_timeout)
{
    int fd = to.unix_path.empty() ? connect_tcp(to.port, connect_timeout)
                                  : connect_unix(to.unix_path);
    if (fd >= 0) stream_ = std::make_unique<byte_stream>(fd);
}

bool connection::write_body(const request_options& r)
{
    if (r.generated_body_size == 0)
        return r.chunked ? (r.body.empty() || stream_->write_all(chunk(r.body))) &&
                               stream_->write_all("0\r\n\r\n")
                         : stream_->write_all(r.body);
    for (std::uint64_t sent = 0; sent < r.generated_body_size;) {
        auto n = static_cast<std::size_t>(
            std::min<std::uint64_t>(piece_size, r.generated_body_size - sent));
        auto piece = pattern_bytes(sent, n);
        if (!stream_->write_all(r.chunked ? chunk(piece) : piece)) return false;
        sent += n;
    }
    return !r.chunked || stream_->write_all("0\r\n\r\n");
}

response connection::send(const request_options& r)
{
    response out;
    if (!stream_) {
        out.error = "not connected";
        return out;
    }
    if (!stream_->write_all(head_of(r))) {
        out.error = "write of the head failed";
        return out;
    }
    if (r.expect_continue) {
        out = read_response(false, r.keep_body, r.timeout);
        if (out.status != 100) return out;  // a final answer before the body: body never sent
    }
    if (!write_body(r)) {
        // The proxy may answer (413, 400) and close before taking the whole body.
        out = read_response(r.method == "HEAD", r.keep_body, r.timeout);
        if (out.status == 0) out.error = "write of the body failed";
        return out;
    }
    auto interim = std::move(out.interim);
    out = read_response(r.method == "HEAD", r.keep_body, r.timeout);
    out.interim.insert(out.interim.begin(), interim.begin(), interim.end());
    return out;
}

response connection::read_response(bool head_request, bool keep_body, millis timeout)
{
    response out;
    if (!stream_) {
        out.error = "not connected";
        return out;
    }
    for (;;) {
        std::string head;
        if (auto s = stream_->read_head(head, timeout); s != byte_stream::status::ok) {
            out.error = std::string("response head: ") + describe(s);
            return out;
        }
        auto parsed = parse_head(head);
        auto& line = parsed ? parsed->first_line : head;
        if (!parsed || line.rfind("HTTP/1.", 0) != 0 || line.size() < 12) {
            out.error = "bad response head: " + head;
            return out;
        }
        out.status = to_int(std::string_view(line).substr(9, 3));
        out.reason = line.size() > 13 ? line.substr(13) : "";
        out.headers = std::move(parsed->headers);
        if (out.status >= 200 || out.status == 101 || out.status < 100) break;
        out.interim.push_back(out.status);
        if (out.status == 100) return out;  // the caller decides whether to send the body now
    }
    pattern_checker checker;
    auto sink = [&](std::string_view piece) {
        checker.feed(piece);
        if (keep_body) out.body.append(piece);
    };
    byte_stream::status s = byte_stream::status::ok;
    bool no_body = head_request || out.status == 204 || out.status == 304 || out.status == 101;
    if (no_body) {
    } else if (iequals(out.headers.value("Transfer-Encoding"), "chunked")) {
        s = stream_->read_chunked(sink, timeout);
    } else if (auto length = out.headers.get("Content-Length")) {
        s = stream_->read_exact(std::stoull(*length), sink, timeout);
    } else {
        s = stream_->read_until_close(sink, timeout);
    }
    out.body_size = checker.size();
    out.body_matches_pattern = checker.ok();
    if (s != byte_stream::status::ok) out.error = std::string("response body: ") + describe(s);
    return out;
}

bool connection::send_raw(std::string_view bytes) { return stream_ && stream_->write_all(bytes); }

std::string connection::read_some(millis timeout)
{
    return stream_ ? stream_->read_some(timeout) : "";
}

std::string connection::read_at_least(std::size_t n, millis timeout)
{
    std::string got;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (got.size() < n && std::chrono::steady_clock::now() < deadline) got += read_some(50ms);
    return got;
}

bool connection::wait_closed(millis timeout) { return !stream_ || stream_->wait_closed(timeout); }

bool connection::peer_closed() { return !stream_ || stream_->peer_closed(); }

void connection::close() { stream_.reset(); }

response request(const target& to, const request_options& options)
{
    connection c{to};
    if (!c.connected()) {
        response out;
        out.error = "connect failed";
        return out;
    }
    return c.send(options);
}

response http_get(const target& to, std::string path, header_list headers)
{
    return request(to, {.path = std::move(path), .headers = std::move(headers)});
}

std::future<response> request_async(target to, request_options options)
{
    return std::async(std::launch::async, [to = std::move(to), options = std::move(options)] {
        return request(to, options);
    });
}

std::future<response> http_get_async(target to, std::string path, header_list headers)
{
    return request_async(std::move(to), {.path = std::move(path), .headers = std::move(headers)});
}

std::string raw_exchange(const target& to, std::string_view bytes, millis timeout)
{
    connection c{to};
    if (!c.connected()) return "";
    c.send_raw(bytes);
    return c.read_some(timeout);
}

int status_of(std::string_view raw)
{
    if (raw.rfind("HTTP/1.", 0) != 0 || raw.size() < 12) return 0;
    return to_int(raw.substr(9, 3));
}

}  // namespace sluice::test
