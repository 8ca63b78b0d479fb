// SHA-256 hex digests (OpenSSL) for checksums, token hashes and plan hashes.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace schemad {

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(absl::string_view data);

// A SHA-256 over data given in parts (no copy of them into one string). One thread at a time.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(absl::string_view data);
  // Lower-case hex of the digest; the object is spent after it.
  std::string HexDigest();

 private:
  EVP_MD_CTX* ctx_;
};

// Compares two strings in time independent of where they differ.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

}  // namespace schemad
