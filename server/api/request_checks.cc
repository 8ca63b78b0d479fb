#include "server/api/request_checks.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace schemad::api {

absl::Status CheckStringFields(const google::protobuf::Message& request) {
  const google::protobuf::Descriptor* descriptor = request.GetDescriptor();
  const google::protobuf::Reflection* reflection = request.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = descriptor->field(i);
    if (field->type() != google::protobuf::FieldDescriptor::TYPE_STRING || field->is_repeated()) {
      continue;
    }
    const std::string value = reflection->GetString(request, field);
    const size_t limit = absl::EndsWith(field->name(), "reason") ? kMaxReasonBytes
                         : field->name() == "target"             ? kMaxNameBytes
                                                                 : kMaxFieldBytes;
    if (value.size() > limit) {
      return absl::InvalidArgumentError(
          absl::StrCat(field->name(), ": ", value.size(), " bytes, at most ", limit));
    }
    const bool text = absl::EndsWith(field->name(), "reason");  // free text: lines allowed
    for (char c : value) {
      if ((static_cast<unsigned char>(c) < 0x20 && !(text && (c == '\n' || c == '\t'))) ||
          c == 0x7f) {
        return absl::InvalidArgumentError(
            absl::StrCat(field->name(), ": contains a control character"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace schemad::api
