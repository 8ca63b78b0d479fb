// The version hub without a database: its reads come from a stand-in reader, and its listener
// never connects (so nothing is cached and every Get reads).
#include "server/engine/version_hub.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace schemad::engine {
namespace {

// The hub only passes targets back to its reader: any distinct address will do.
const Target* FakeTarget() {
  static int target;
  return reinterpret_cast<const Target*>(&target);
}

struct Answer {
  absl::Notification done;
  std::string version;
};

TEST(VersionHubTest, AGetAfterAChangeIsNotAnsweredByAReadThatBeganBeforeIt) {
  absl::Notification first_read_started, release_first_read;
  std::atomic<int> reads{0};
  VersionHub hub([&](const Target&) -> absl::StatusOr<VersionReport> {
    const int n = ++reads;
    if (n == 1) {
      first_read_started.Notify();
      release_first_read.WaitForNotification();
    }
    VersionReport report;
    report.current_version = std::to_string(n);
    return report;
  });
  hub.Add(FakeTarget(), "host=/nonexistent port=1 connect_timeout=1", "c");
  auto get = [&](Answer* answer) {
    hub.Get(*FakeTarget(), [answer](const absl::StatusOr<VersionReport>& report) {
      answer->version = report.ok() ? report->current_version : "error";
      answer->done.Notify();
    });
  };
  Answer before, after;
  get(&before);
  first_read_started.WaitForNotification();
  hub.Invalidate(*FakeTarget());  // this replica committed a change meanwhile
  get(&after);
  release_first_read.Notify();
  ASSERT_TRUE(before.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(after.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(before.version, "1");
  EXPECT_EQ(after.version, "2");  // read again, after the change
  hub.Stop();
}

class Recorder : public VersionSubscriber {
 public:
  void OnVersion(const absl::StatusOr<VersionReport>& report, uint64_t generation) override {
    absl::MutexLock lock(&mu);
    heard.emplace_back(report.ok() ? report->current_version : "error", generation);
  }
  absl::Mutex mu;
  std::vector<std::pair<std::string, uint64_t>> heard ABSL_GUARDED_BY(mu);
};

TEST(VersionHubTest, SubscribersHearEveryChangeWithIncreasingGenerations) {
  std::atomic<int> reads{0};
  VersionHub hub([&](const Target&) -> absl::StatusOr<VersionReport> {
    VersionReport report;
    report.current_version = std::to_string(++reads);
    return report;
  });
  hub.Add(FakeTarget(), "host=/nonexistent port=1 connect_timeout=1", "c");
  auto recorder = std::make_shared<Recorder>();
  hub.Subscribe(*FakeTarget(), recorder);
  auto heard = [&]() {
    absl::MutexLock lock(&recorder->mu);
    return recorder->heard;
  };
  for (int i = 0; i < 200 && heard().empty(); ++i) absl::SleepFor(absl::Milliseconds(10));
  hub.Invalidate(*FakeTarget());  // a change a subscriber waits for is read at once
  for (int i = 0; i < 200 && heard().size() < 2; ++i) absl::SleepFor(absl::Milliseconds(10));
  hub.Unsubscribe(*FakeTarget(), recorder.get());
  const auto got = heard();
  ASSERT_GE(got.size(), 2u);
  for (size_t i = 1; i < got.size(); ++i) EXPECT_GE(got[i].second, got[i - 1].second);
  EXPECT_GT(got.back().second, got.front().second);
  hub.Stop();
}

}  // namespace
}  // namespace schemad::engine
