// Request validation at the API edge: any bytes, read as any request message, either pass the
// field checks (then every string is bounded and printable, every version a version) or are
// refused with INVALID_ARGUMENT whose message never echoes more than a short prefix.
#include <fuzzer/FuzzedDataProvider.h>

#include <memory>

#include "schemad/v1/schemad.pb.h"
#include "server/api/request_checks.h"
#include "server/catalog/catalog.h"
#include "server/engine/planner.h"
#include "tests/fuzz/fuzz_common.h"

namespace {

std::unique_ptr<google::protobuf::Message> NewRequest(int which) {
  namespace v1 = schemad::v1;
  switch (which) {
    case 0:
      return std::make_unique<v1::GetStatusRequest>();
    case 1:
      return std::make_unique<v1::PlanRequest>();
    case 2:
      return std::make_unique<v1::ApplyRequest>();
    case 3:
      return std::make_unique<v1::RollbackRequest>();
    case 4:
      return std::make_unique<v1::ResolveRunRequest>();
    case 5:
      return std::make_unique<v1::RepairChecksumsRequest>();
    case 6:
      return std::make_unique<v1::ValidateCoverageRequest>();
    case 7:
      return std::make_unique<v1::GetHistoryRequest>();
    default:
      return std::make_unique<v1::WatchVersionRequest>();
  }
}

std::string StringField(const google::protobuf::Message& message, const char* name) {
  const auto* field = message.GetDescriptor()->FindFieldByName(name);
  return field == nullptr ? "" : message.GetReflection()->GetString(message, field);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider provider(data, size);
  std::unique_ptr<google::protobuf::Message> request =
      NewRequest(provider.ConsumeIntegralInRange(0, 8));
  const std::string bytes = provider.ConsumeRemainingBytesAsString();
  if (!request->ParseFromString(bytes)) return 0;

  const absl::Status fields = schemad::api::CheckStringFields(*request);
  if (!fields.ok()) {
    FUZZ_CHECK(fields.code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(fields.message().size() < 100);
    return 0;
  }
  const google::protobuf::Descriptor* descriptor = request->GetDescriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const auto* field = descriptor->field(i);
    if (field->type() != google::protobuf::FieldDescriptor::TYPE_STRING || field->is_repeated()) {
      continue;
    }
    const std::string value = request->GetReflection()->GetString(*request, field);
    FUZZ_CHECK(value.size() <= schemad::api::kMaxReasonBytes);
    FUZZ_CHECK(value.find('\0') == std::string::npos);
  }
  schemad::engine::PlanRequest plan;
  plan.to_version = StringField(*request, "to_version");
  const absl::Status checked = schemad::engine::CheckPlanRequest(plan);
  FUZZ_CHECK(checked.ok() == (plan.to_version.empty() || schemad::IsVersion(plan.to_version)));
  FUZZ_CHECK(checked.message().size() < 200);
  const std::string hash = StringField(*request, "expected_plan_hash");
  if (schemad::engine::IsPlanHash(hash)) FUZZ_CHECK(hash.size() == 64);
  return 0;
}
