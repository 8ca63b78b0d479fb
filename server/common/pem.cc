#include "server/common/pem.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace schemad {
namespace {

struct FileCloser {
  void operator()(FILE* file) const { std::fclose(file); }
};
using File = std::unique_ptr<FILE, FileCloser>;
using Certificate = std::unique_ptr<X509, decltype(&X509_free)>;
using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

// OpenSSL's reason for the last failure, then a clean error queue.
std::string OpenSslReason() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  const char* reason = code == 0 ? nullptr : ERR_reason_error_string(code);
  return reason == nullptr ? "no PEM block found" : reason;
}

absl::StatusOr<Certificate> ReadCertificate(const std::string& path) {
  File file(std::fopen(path.c_str(), "r"));
  if (!file) return absl::InvalidArgumentError(absl::StrCat(path, ": cannot read"));
  Certificate certificate(PEM_read_X509(file.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!certificate) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a PEM certificate (", OpenSslReason(), ")"));
  }
  return certificate;
}

}  // namespace

absl::Status CheckPemCertificate(const std::string& path) { return ReadCertificate(path).status(); }

absl::Status CheckPemKeyPair(const std::string& cert_path, const std::string& key_path) {
  absl::StatusOr<Certificate> certificate = ReadCertificate(cert_path);
  if (!certificate.ok()) return certificate.status();
  File file(std::fopen(key_path.c_str(), "r"));
  if (!file) return absl::InvalidArgumentError(absl::StrCat(key_path, ": cannot read"));
  // A pass-phrase callback that gives none: an encrypted key is refused, never prompted for.
  pem_password_cb* no_passphrase = [](char*, int, int, void*) { return 0; };
  Key key(PEM_read_PrivateKey(file.get(), nullptr, no_passphrase, nullptr), &EVP_PKEY_free);
  if (!key) {
    return absl::InvalidArgumentError(
        absl::StrCat(key_path, ": not an unencrypted PEM private key (", OpenSslReason(), ")"));
  }
  if (X509_check_private_key(certificate->get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat(key_path, ": is not the key of the certificate in ", cert_path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> CertificatePrincipal(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  Certificate certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (certificate == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("client certificate: ", OpenSslReason()));
  }
  using Names = std::unique_ptr<GENERAL_NAMES, void (*)(GENERAL_NAMES*)>;
  Names names(static_cast<GENERAL_NAMES*>(
                  X509_get_ext_d2i(certificate.get(), NID_subject_alt_name, nullptr, nullptr)),
              [](GENERAL_NAMES* p) { GENERAL_NAMES_free(p); });
  for (int wanted : {GEN_URI, GEN_DNS}) {
    for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names.get()); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
      if (name->type != wanted) continue;
      const ASN1_IA5STRING* text = name->d.ia5;
      return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                         ASN1_STRING_length(text));
    }
  }
  const X509_NAME* subject = X509_get_subject_name(certificate.get());
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index >= 0) {
    const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(cn)),
                       ASN1_STRING_length(cn));
  }
  return absl::InvalidArgumentError(
      "client certificate: no SAN URI, no SAN DNS name and no subject CN to name it by");
}

}  // namespace schemad
