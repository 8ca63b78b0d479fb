#include "absl/strings/string_view.h"
#include "server/common/logging.h"

#include <memory>

#include "absl/strings/str_format.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace schemad {
namespace {

// Writes each record as {"time":..,"level":..,"msg":..} with the message JSON-escaped.
class JsonFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto time = std::chrono::duration_cast<std::chrono::milliseconds>(
                          msg.time.time_since_epoch())
                          .count();
    std::string out = absl::StrFormat(R"({"ts_ms":%d,"level":"%s","msg":")", time,
                                      spdlog::level::to_string_view(msg.level).data());
    for (char c : absl::string_view(msg.payload.data(), msg.payload.size())) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            out += absl::StrFormat("\\u%04x", c);
          } else {
            out.push_back(c);
          }
      }
    }
    out += "\"}\n";
    dest.append(out.data(), out.data() + out.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

absl::Status SetUpLogging(LogFormat format, const std::string& level) {
  const auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") {
    return absl::InvalidArgumentError(absl::StrFormat("unknown log level \"%s\"", level));
  }
  auto logger = std::make_shared<spdlog::logger>(
      "schemad", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (format == LogFormat::kJson) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  }
  logger->set_level(parsed);
  spdlog::set_default_logger(logger);
  return absl::OkStatus();
}

}  // namespace schemad
