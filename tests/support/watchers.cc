#include "tests/support/watchers.h"

#include "absl/strings/str_cat.h"

namespace schemad::testing {

struct Watchers::Stream {
  enum class State { kStarting, kReading, kFinishing, kDone };
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientAsyncReader<v1::VersionInfo>> reader;
  v1::VersionInfo message;
  State state = State::kStarting;
  grpc::Status status;
  int received = 0;  // guarded by Watchers::mu_
  std::string last_version;
};

Watchers::Watchers(const std::string& address, const std::string& target, const std::string& token,
                   int count, int channels, absl::Duration deadline) {
  for (int i = 0; i < channels; ++i) {
    grpc::ChannelArguments arguments;
    // Distinct arguments: each channel gets its own connection.
    arguments.SetInt("schemad.test.channel", i);
    stubs_.push_back(v1::SchemaService::NewStub(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), arguments)));
  }
  v1::WatchVersionRequest request;
  request.set_target(target);
  for (int i = 0; i < count; ++i) {
    auto stream = std::make_unique<Stream>();
    if (!token.empty()) stream->context.AddMetadata("authorization", "Bearer " + token);
    stream->context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    stream->reader =
        stubs_[i % channels]->AsyncWatchVersion(&stream->context, request, &queue_, stream.get());
    streams_.push_back(std::move(stream));
  }
  driver_ = std::thread([this] { Drive(); });
}

Watchers::~Watchers() {
  for (auto& stream : streams_) stream->context.TryCancel();
  {
    absl::MutexLock lock(&mu_);
    const size_t total = streams_.size();
    auto all_ended = [this, total]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return static_cast<size_t>(ended_) >= total;
    };
    mu_.AwaitWithTimeout(absl::Condition(&all_ended), absl::Seconds(60));
  }
  queue_.Shutdown();
  driver_.join();
}

void Watchers::Drive() {
  void* tag = nullptr;
  bool ok = false;
  while (queue_.Next(&tag, &ok)) {
    auto* stream = static_cast<Stream*>(tag);
    switch (stream->state) {
      case Stream::State::kStarting:
      case Stream::State::kReading:
        if (stream->state == Stream::State::kReading && ok) {
          absl::MutexLock lock(&mu_);
          ++stream->received;
          stream->last_version = stream->message.current_version();
        }
        if (ok) {
          stream->state = Stream::State::kReading;
          stream->reader->Read(&stream->message, stream);
        } else {
          stream->state = Stream::State::kFinishing;
          stream->reader->Finish(&stream->status, stream);
        }
        break;
      case Stream::State::kFinishing: {
        stream->state = Stream::State::kDone;
        absl::MutexLock lock(&mu_);
        ++ended_;
        if (!stream->status.ok() && first_error_.ok() &&
            stream->status.error_code() != grpc::StatusCode::CANCELLED) {
          first_error_ = stream->status;
        }
        break;
      }
      case Stream::State::kDone:
        break;
    }
  }
}

int Watchers::AwaitMessages(int messages, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto count = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    int done = 0;
    for (const auto& stream : streams_) done += stream->received >= messages;
    return done;
  };
  auto all = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return count() == static_cast<int>(streams_.size());
  };
  mu_.AwaitWithTimeout(absl::Condition(&all), timeout);
  return count();
}

int Watchers::ended() const {
  absl::MutexLock lock(&mu_);
  return ended_;
}

grpc::Status Watchers::first_error() const {
  absl::MutexLock lock(&mu_);
  return first_error_;
}

std::map<std::string, int> Watchers::LastVersions() const {
  absl::MutexLock lock(&mu_);
  std::map<std::string, int> out;
  for (const auto& stream : streams_) ++out[stream->last_version];
  return out;
}

}  // namespace schemad::testing
