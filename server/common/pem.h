// TLS files checked at start-up, so a bad one is named instead of gRPC's "cannot listen".
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace schemad {

// Whether `path` holds at least one PEM certificate. INVALID_ARGUMENT naming the file (and
// OpenSSL's reason) otherwise.
absl::Status CheckPemCertificate(const std::string& path);

// Whether `key_path` holds a PEM private key that belongs to the first certificate in
// `cert_path`.
absl::Status CheckPemKeyPair(const std::string& cert_path, const std::string& key_path);

// The identity of a PEM certificate (a verified mTLS client's): its first SAN URI, else its first
// SAN DNS name, else its subject CN. INVALID_ARGUMENT when it has none.
absl::StatusOr<std::string> CertificatePrincipal(const std::string& pem);

}  // namespace schemad
