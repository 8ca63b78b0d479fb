// Config validation: each bad config is refused with a message naming the key or file.
#include "server/config/config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/matchers.h"
#include "tests/support/test_postgres.h"

namespace schemad {
namespace {

using ::schemad::testing::IsOk;
using ::schemad::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("schemad-config");
    testing::WriteFiles(dir_ + "/catalog", {{"001_init.up.sql", "SELECT 1;"}});
    testing::WriteFiles(dir_, {{"dsn.txt", "host=/tmp dbname=x\n"}});
  }
  absl::StatusOr<Config> Parse(const std::string& yaml) {
    return ParseConfig(yaml, dir_ + "/schemad.yaml", [](const std::string& name) {
      if (name == "SHADOW") return std::optional<std::string>("host=/tmp dbname=postgres");
      return name == "DEV_DSN" ? std::optional<std::string>("host=/tmp dbname=dev") : std::nullopt;
    });
  }
  std::string dir_;
};

constexpr char kTarget[] =
    "targets:\n  - name: dev\n    environment: dev\n    catalog: catalog\n    dsn_env: DEV_DSN\n";

TEST_F(ConfigTest, ValidConfigResolvesDsnAndRelativeCatalog) {
  absl::StatusOr<Config> config = Parse(
      std::string("listen: 127.0.0.1:6000\n") + kTarget +
      "  - name: stage\n    environment: staging\n    catalog: catalog\n    dsn_file: dsn.txt\n"
      "    lock_timeout: 750ms\n    lock_wait: 2m\n    lock_retries: 2\n"
      "tokens:\n  - principal: ci\n    sha256: " +
      std::string(64, 'a') + "\n    roles: {dev: admin, \"*\": viewer}\n");
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->listen, "127.0.0.1:6000");
  ASSERT_EQ(config->targets.size(), 2u);
  EXPECT_EQ(config->targets[0].dsn, "host=/tmp dbname=dev");
  EXPECT_EQ(config->targets[0].dsn_source, "env DEV_DSN");
  EXPECT_EQ(config->targets[0].catalog_path, dir_ + "/catalog");
  EXPECT_EQ(config->targets[1].dsn, "host=/tmp dbname=x");
  EXPECT_EQ(config->targets[1].environment.name, "staging");
  EXPECT_TRUE(config->targets[1].environment.require_plan_hash);
  EXPECT_FALSE(config->targets[0].environment.require_plan_hash);
  EXPECT_EQ(config->targets[1].lock_timeout, absl::Milliseconds(750));
  EXPECT_EQ(config->targets[1].lock_wait, absl::Minutes(2));
  EXPECT_EQ(config->targets[1].lock_retries, 2);
  ASSERT_EQ(config->tokens.size(), 1u);
  EXPECT_EQ(config->tokens[0].roles.at("dev"), Role::kAdmin);
  EXPECT_EQ(config->tokens[0].roles.at("*"), Role::kViewer);
}

TEST_F(ConfigTest, GroupsExpandIntoMembersAndBadOnesAreNamed) {
  testing::WriteFiles(dir_, {{"tenant.dsn", "host=/tmp dbname=shop_{tenant}\n"}});
  const std::string group =
      "groups:\n  - name: tenants\n    environment: prod\n    catalog: "
      "catalog\n    dsn_file: tenant.dsn\n    lock_wait: 5s\n";
  absl::StatusOr<Config> config = Parse(group + "    tenants: [acme, globex]\n");
  ASSERT_THAT(config, IsOk());
  ASSERT_EQ(config->targets.size(), 2u);  // no targets: needed beside a group
  EXPECT_EQ(config->targets[0].name, "tenants/acme");
  EXPECT_EQ(config->targets[0].group, "tenants");
  EXPECT_EQ(config->targets[1].dsn, "host=/tmp dbname=shop_globex");
  EXPECT_THAT(config->targets[1].dsn_source, HasSubstr("({tenant} = globex)"));
  EXPECT_TRUE(config->targets[1].environment.require_plan_hash);  // prod's policy
  EXPECT_EQ(config->targets[1].lock_wait, absl::Seconds(5));
  ASSERT_EQ(config->groups.size(), 1u);
  EXPECT_EQ(config->groups[0].members.size(), 2u);
  absl::StatusOr<Config> schemas =
      Parse(std::string(kTarget) + group + "    schemas: [acme, b_2]\n");
  ASSERT_THAT(schemas, IsOk());
  EXPECT_EQ(schemas->targets[2].schema, "b_2");
  EXPECT_THAT(
      Parse(group + "    tenants: [acme]\n    schemas: [b]\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("groups[0]: give one of tenants")));
  EXPECT_THAT(Parse(group + "    schemas: [Acme]\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("groups[0].schemas[0]"), HasSubstr("not a plain name"))));
  EXPECT_THAT(Parse(group + "    tenants: [a, a]\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("listed twice")));
  testing::WriteFiles(dir_, {{"tenant.dsn", "host=/tmp dbname=shop\n"}});
  EXPECT_THAT(Parse(group + "    tenants: [acme]\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must contain {tenant}")));
  EXPECT_THAT(Parse(std::string(kTarget) +
                    "groups:\n  - name: dev\n    environment: dev\n    catalog: catalog\n"
                    "    dsn_env: DEV_DSN\n    schemas: [a]\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("already a target")));
  // A discovery query is kept for start-up (ExpandDiscoveredGroups); its DSN is a secret.
  absl::StatusOr<Config> discovered =
      Parse(group +
            "    discovery:\n      query: SELECT tenant FROM tenants\n"
            "      dsn_env: DEV_DSN\n");
  ASSERT_THAT(discovered, IsOk());
  EXPECT_EQ(discovered->groups[0].discovery_query, "SELECT tenant FROM tenants");
  EXPECT_EQ(discovered->groups[0].discovery_dsn_source, "env DEV_DSN");
}

TEST_F(ConfigTest, UnknownTopLevelKeyIsNamed) {
  EXPECT_THAT(
      Parse(std::string(kTarget) + "lisen: 1.2.3.4:5\n"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("schemad.yaml"), HasSubstr("lisen"), HasSubstr("unknown key"))));
}

TEST_F(ConfigTest, UnknownTargetKeyIsNamedWithItsPath) {
  EXPECT_THAT(Parse(std::string(kTarget) + "    colour: blue\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("targets[0].colour")));
}

TEST_F(ConfigTest, LiteralDsnIsRefusedWithAHint) {
  EXPECT_THAT(Parse("targets:\n  - name: dev\n    environment: dev\n    catalog: catalog\n"
                    "    dsn: postgres://u:secret@h/db\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("targets[0].dsn"), HasSubstr("dsn_env"),
                             ::testing::Not(HasSubstr("secret")))));
}

TEST_F(ConfigTest, MissingCatalogNamesTheFolder) {
  EXPECT_THAT(Parse("targets:\n  - name: dev\n    environment: dev\n    catalog: nowhere\n"
                    "    dsn_env: DEV_DSN\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("targets[0].catalog"), HasSubstr(dir_ + "/nowhere"))));
}

TEST_F(ConfigTest, DuplicateTargetNameIsRefused) {
  EXPECT_THAT(
      Parse(std::string(kTarget) +
            "  - name: dev\n    environment: prod\n    catalog: catalog\n    dsn_env: DEV_DSN\n"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("targets[1].name"), HasSubstr("duplicate target name \"dev\""))));
}

TEST_F(ConfigTest, UnsetDsnVariableIsNamed) {
  EXPECT_THAT(Parse("targets:\n  - name: dev\n    environment: dev\n    catalog: catalog\n"
                    "    dsn_env: PROD_DSN\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("environment variable PROD_DSN is not set")));
}

TEST_F(ConfigTest, UnreadableDsnFileIsNamed) {
  EXPECT_THAT(Parse("targets:\n  - name: dev\n    environment: dev\n    catalog: catalog\n"
                    "    dsn_file: missing.txt\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("targets[0].dsn_file"), HasSubstr("missing.txt"))));
}

TEST_F(ConfigTest, BadEnvironmentRoleAndDurationAreNamed) {
  EXPECT_THAT(Parse("targets:\n  - name: dev\n    environment: qa\n    catalog: catalog\n"
                    "    dsn_env: DEV_DSN\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("targets[0].environment"), HasSubstr("\"qa\""))));
  EXPECT_THAT(Parse(std::string(kTarget) + "    lock_timeout: soon\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("targets[0].lock_timeout"), HasSubstr("soon"))));
  EXPECT_THAT(Parse(std::string(kTarget) + "tokens:\n  - principal: a\n    sha256: " +
                    std::string(64, 'b') + "\n    roles: {dev: superuser}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("tokens[0].roles.dev"), HasSubstr("superuser"))));
}

TEST_F(ConfigTest, TokenMustBeAHash) {
  EXPECT_THAT(
      Parse(std::string(kTarget) +
            "tokens:\n  - principal: a\n    sha256: plain-token\n    roles: {dev: admin}\n"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("tokens[0].sha256"), HasSubstr("64-hex-digit"))));
}

TEST_F(ConfigTest, NoTargetsIsRefused) {
  EXPECT_THAT(Parse("listen: 127.0.0.1:1\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("targets")));
}

TEST_F(ConfigTest, YamlSyntaxErrorGivesTheLine) {
  EXPECT_THAT(Parse("targets:\n  - name: [dev\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("schemad.yaml: line")));
}

TEST_F(ConfigTest, TlsFilesMustExistAndGoTogether) {
  EXPECT_THAT(Parse(std::string(kTarget) + "tls:\n  cert_file: nope.pem\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("tls.cert_file"), HasSubstr("nope.pem"))));
  testing::WriteFiles(dir_, {{"cert.pem", "x"}});
  EXPECT_THAT(Parse(std::string(kTarget) + "tls:\n  cert_file: cert.pem\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("cert_file and key_file go together")));
}

TEST_F(ConfigTest, NonLoopbackWithoutTokensOrTlsIsRefused) {
  absl::StatusOr<Config> config = Parse(std::string("listen: 0.0.0.0:50051\n") + kTarget);
  ASSERT_THAT(config, IsOk());
  EXPECT_THAT(ValidateConfig(*config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("0.0.0.0:50051"), HasSubstr("not a loopback address"))));
  // Server TLS alone still lets anyone connect, and without tokens anyone is admin.
  config->tls.cert_file = "server.pem";
  config->tls.key_file = "server.key";
  EXPECT_THAT(ValidateConfig(*config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tls.client_ca_file")));
  config->tls.client_ca_file = "clients.pem";
  // Client certificates need entries that give their principals roles: never anonymous admin.
  EXPECT_THAT(ValidateConfig(*config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("certificates:")));
  config->certificates.push_back(CertificateConfig{"spiffe://ci", {{"*", Role::kViewer}}, {}});
  EXPECT_THAT(ValidateConfig(*config), IsOk());
  config->certificates.clear();
  config->tls = TlsConfig();
  config->tokens.push_back(TokenConfig{"ci", std::string(64, 'c'), {{"*", Role::kViewer}}});
  EXPECT_THAT(ValidateConfig(*config), IsOk());
  config->listen = "127.0.0.1:50051";
  config->tokens.clear();
  EXPECT_THAT(ValidateConfig(*config), IsOk());
}

// Issue 12, item 5: free-form environments with a promotion order and a policy; the old
// dev/staging/prod keep their meaning without the key.
TEST_F(ConfigTest, EnvironmentsHavePoliciesAndAnOrder) {
  const std::string targets =
      "targets:\n"
      "  - {name: qa-eu, environment: qa, catalog: catalog, dsn_env: DEV_DSN}\n"
      "  - {name: live-eu, environment: live, catalog: catalog, dsn_env: DEV_DSN}\n";
  absl::StatusOr<Config> config =
      Parse(targets +
            "environments:\n  qa: {}\n  live: {promote_from: qa, soak: 1h, lint_policy: warning}\n"
            "tokens:\n  - principal: ci\n    sha256: " +
            std::string(64, 'a') +
            "\n    roles: {qa: deployer}\n    target_roles: {live-eu: deployer}\n");
  ASSERT_THAT(config, IsOk());
  const EnvironmentConfig& live = config->targets[1].environment;
  EXPECT_EQ(live.name, "live");
  EXPECT_EQ(live.promote_from, "qa");
  EXPECT_EQ(live.soak, absl::Hours(1));
  EXPECT_TRUE(live.require_plan_hash);  // the default with promote_from
  EXPECT_EQ(live.lint_block_severity, 2);
  EXPECT_FALSE(config->targets[0].environment.require_plan_hash);
  EXPECT_EQ(config->tokens[0].target_roles.at("live-eu"), Role::kDeployer);

  absl::StatusOr<Config> defaults = Parse(kTarget);
  ASSERT_THAT(defaults, IsOk());
  ASSERT_EQ(defaults->environments.size(), 3u);
  EXPECT_EQ(defaults->environments[2].name, "prod");
  EXPECT_TRUE(defaults->environments[2].require_plan_hash);
  EXPECT_EQ(defaults->environments[2].lint_block_severity, 3);
  EXPECT_TRUE(defaults->environments[2].promote_from.empty());

  EXPECT_THAT(Parse(targets + "environments:\n  qa: {}\n  live: {promote_from: stage}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("environments.live.promote_from"),
                             HasSubstr("\"stage\" is not an environment (configured: qa, live)"))));
  EXPECT_THAT(
      Parse(targets + "environments:\n  qa: {promote_from: live}\n  live: {promote_from: qa}\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("promotion order loops back")));
  EXPECT_THAT(Parse(targets + "environments:\n  qa: {soak: 1h}\n  live: {}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("environments.qa.soak"), HasSubstr("needs promote_from"))));
  absl::StatusOr<Config> approvals =
      Parse(targets + "environments:\n  qa: {}\n  live: {approvals: 2, approval_ttl: 4h}\n");
  ASSERT_THAT(approvals, IsOk());
  EXPECT_EQ(approvals->targets[1].environment.approvals, 2);
  EXPECT_EQ(approvals->targets[1].environment.approval_ttl, absl::Hours(4));
  EXPECT_THAT(ValidateConfig(*approvals),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("environments.live.approvals: needs a control database")));
  absl::StatusOr<Config> shadow_policy =
      Parse(targets +
            "environments:\n  qa: {drift_check: 10m}\n  live: {require_rehearsal: 24h, "
            "drift_gate: true}\nshadow:\n  dsn_env: SHADOW\n");
  ASSERT_THAT(shadow_policy, IsOk());
  EXPECT_EQ(shadow_policy->targets[0].environment.drift_check, absl::Minutes(10));
  EXPECT_EQ(shadow_policy->targets[1].environment.require_rehearsal, absl::Hours(24));
  EXPECT_TRUE(shadow_policy->targets[1].environment.drift_gate);
  EXPECT_EQ(shadow_policy->shadow.dsn_source, "env SHADOW");
  EXPECT_THAT(ValidateConfig(*shadow_policy),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("environments.live.require_rehearsal: needs a control database")));
  EXPECT_THAT(Parse(targets + "environments:\n  qa: {drift_check: 0s}\n  live: {}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("environments.qa.drift_check: must be at least 1s")));
  EXPECT_THAT(Parse(targets + "environments:\n  qa: {}\n  live: {drift_gate: maybe}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("environments.live.drift_gate: must be true or false")));
  EXPECT_THAT(Parse(targets + "environments:\n  qa: {}\n  live: {approvals: 11}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must be 0 to 10")));
  EXPECT_THAT(Parse(targets + "environments:\n  qa: {}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("targets[1].environment"),
                             HasSubstr("\"live\" is not an environment (configured: qa)"))));
  EXPECT_THAT(
      Parse(std::string(kTarget) + "tokens:\n  - principal: ci\n    sha256: " +
            std::string(64, 'a') + "\n    target_roles: {nope: admin}\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, AllOf(HasSubstr("tokens[0].target_roles.nope"),
                                                         HasSubstr("\"nope\" is not a target"))));
  EXPECT_THAT(
      Parse(std::string(kTarget) + "certificates:\n  - principal: a\n    roles: {dev: admin}\n"
                                   "  - principal: a\n    roles: {dev: viewer}\n"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("certificates[1].principal: duplicate certificate principal")));
}

// Issue 10, item 8: a listen address that does not parse, or a port out of range, is named.
TEST_F(ConfigTest, ListenAddressShapeAndPortAreChecked) {
  absl::StatusOr<Config> config = Parse(std::string("listen: 127.0.0.1:99999\n") + kTarget);
  ASSERT_THAT(config, IsOk());
  EXPECT_THAT(ValidateConfig(*config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("\"127.0.0.1:99999\": port 99999 is out of range (0 to 65535)")));
  for (const char* bad : {"localhost", "127.0.0.1:", ":50051", "127.0.0.1:http", "1.2.3.4:-1"}) {
    config->listen = bad;
    EXPECT_THAT(ValidateConfig(*config),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not host:port")))
        << bad;
  }
  for (const char* good : {"127.0.0.1:0", "[::1]:50051", "localhost:65535", "unix:/tmp/s"}) {
    config->listen = good;
    EXPECT_THAT(ValidateConfig(*config), IsOk()) << good;
  }
}

TEST(LoopbackTest, RecognisesLoopbackForms) {
  EXPECT_TRUE(IsLoopbackAddress("127.0.0.1:1"));
  EXPECT_TRUE(IsLoopbackAddress("localhost:1"));
  EXPECT_TRUE(IsLoopbackAddress("[::1]:1"));
  EXPECT_TRUE(IsLoopbackAddress("unix:/tmp/s"));
  EXPECT_FALSE(IsLoopbackAddress("0.0.0.0:1"));
  EXPECT_FALSE(IsLoopbackAddress("[::]:1"));
  EXPECT_FALSE(IsLoopbackAddress("10.0.0.1:1"));
}

}  // namespace
}  // namespace schemad
