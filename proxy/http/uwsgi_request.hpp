#pragma once
// The request head as a uwsgi packet, for backends with `protocol: uwsgi`. Pure: plain strings in,
// bytes out; the I/O side writes the packet, then the body, then reads the HTTP response that
// uWSGI writes back (status line, headers, body until it closes the connection).
//
// Wire format (https://uwsgi-docs.readthedocs.io/en/latest/Protocol.html):
//   u8 modifier1 (0 = WSGI/CGI vars), le16 datasize (the vars block), u8 modifier2 (0)
//   then per var: le16 key size, key, le16 value size, value
// Vars follow NGINX's uwsgi_params and ngx_http_uwsgi_module: REQUEST_METHOD, REQUEST_URI,
// PATH_INFO (percent-decoded path), QUERY_STRING, SERVER_PROTOCOL, CONTENT_LENGTH (when known),
// REMOTE_ADDR, REMOTE_PORT, SERVER_NAME, SERVER_PORT,
// REQUEST_SCHEME and UWSGI_SCHEME (uWSGI's wsgi.url_scheme), HTTPS=on (only for https, as NGINX's
// `$https if_not_empty`), SCRIPT_NAME="" (the app is mounted at /), then the headers in arrival
// order as HTTP_<NAME>, Content-Type as CONTENT_TYPE.
//
// The body: uWSGI reads exactly CONTENT_LENGTH bytes after the packet and nothing else. A chunked
// request body must be de-chunked by the caller, which then either buffers it to learn its size
// (what NGINX does) or streams the raw bytes with content_length = nullopt: CONTENT_LENGTH is then
// omitted and most apps see an empty body. Never send chunk framing on a uwsgi connection.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::proxy {

struct uwsgi_head_input {
    std::string_view method;
    std::string_view target;   // origin-form as received: "/p?q=1"
    std::string_view version;  // "HTTP/1.1"
    // As received, after the proxy's own rewriting (hop-by-hop removed, X-Forwarded-* set).
    std::vector<std::pair<std::string_view, std::string_view>> headers;
    std::string_view remote_addr, remote_port, server_name, server_port;
    std::string_view server_protocol_scheme;      // "http" or "https"
    std::optional<std::uint64_t> content_length;  // the body that follows, if known
};

// `packet` is the 4-byte header + vars block; empty when `error` is set.
struct uwsgi_encoding {
    std::string packet;
    std::string error;
};

// uWSGI's datasize is 16 bits: a longer vars block cannot be sent at all.
inline constexpr std::size_t uwsgi_max_vars_size = 65535;

// Header mapping (CGI rules, as NGINX applies them):
// * name -> HTTP_ + uppercase, '-' -> '_'; Content-Type and Content-Length become CONTENT_TYPE
//   and CONTENT_LENGTH (the latter from `content_length`, never from the header), and
//   Transfer-Encoding is dropped (the body on the wire is never chunked, see above).
// * names with '_' or other characters outside [A-Za-z0-9-] are dropped, as NGINX and Apache do:
//   "X_Forwarded_For" from a client would otherwise overwrite the proxy's X-Forwarded-For.
// * repeated fields become one var in the first one's place, values joined with ", " (Cookie
//   with "; ", RFC 6265), since a CGI environment holds one value per name.
// Throws nothing; an over-long head returns `error` instead, and the caller answers 431.
uwsgi_encoding encode_uwsgi_request(const uwsgi_head_input& in);

// "%41b%2Fc" -> "Ab/c"; a '%' not followed by two hex digits stays as it is; '+' stays '+'.
std::string percent_decode(std::string_view text);

}  // namespace sluice::proxy
