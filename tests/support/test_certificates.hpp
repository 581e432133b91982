#pragma once
// Keys and certificates made at test time with the OpenSSL API, so no key material is committed:
// a self-signed certificate for some names and validity, or a CA and leaves it signs. EC P-256
// keys, SHA-256 signatures, PEM files. No test framework: unit and integration tests share it,
// and a failure throws std::runtime_error with OpenSSL's reason.

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace sluice::test {

struct certificate_spec {
    // subjectAltName DNS entries; the first is also the subject's CN unless common_name is set.
    // Empty: no subjectAltName at all (an old-style certificate named by its CN only).
    std::vector<std::string> names{"localhost"};
    std::string common_name;  // "" = names.front(), or "sluice test" when names is empty
    std::chrono::system_clock::time_point not_before = std::chrono::system_clock::now() -
                                                       std::chrono::hours(1);
    std::chrono::system_clock::time_point not_after = std::chrono::system_clock::now() +
                                                      std::chrono::days(365);
    std::string passphrase;  // "" = the key is written in the clear; else AES-256-CBC encrypted
};

// Where a key and its certificate were written: DIR/STEM.key and DIR/STEM.crt.
struct pem_files {
    std::string cert;
    std::string key;
};

// A self-signed leaf certificate (not a CA). Creates `dir` if needed.
pem_files write_self_signed(const std::filesystem::path& dir, const std::string& stem,
                            const certificate_spec& spec = {});

// A CA certificate (basicConstraints CA:TRUE, keyCertSign), self-signed; `spec.names` are
// ignored, its subject is CN=common_name (default "sluice test CA").
pem_files write_ca(const std::filesystem::path& dir, const std::string& stem,
                   const certificate_spec& spec = {});

// A leaf signed by `ca` (as write_ca made it; its key must be in the clear). With `with_chain`
// the CA's certificate follows the leaf in the cert file, as a server sends its chain.
pem_files write_signed(const std::filesystem::path& dir, const std::string& stem,
                       const pem_files& ca, const certificate_spec& spec = {},
                       bool with_chain = false);

// A fresh directory under the system's temp dir ("PREFIX-XXXXXX"), removed with its contents at
// the end: where a test writes its certificates and the config that names them.
class scratch_dir {
public:
    explicit scratch_dir(const std::string& prefix = "sluice-test");
    ~scratch_dir();
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

}  // namespace sluice::test
