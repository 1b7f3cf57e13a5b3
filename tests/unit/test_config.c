/* Configuration: defaults, then the environment (URLs also from *_FILE secrets), then the
 * shared flags; a bad value is refused with the variable or flag and the allowed range named.
 * Every test starts from an environment without WEFT_* settings. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const config_vars[] = {
    "WEFT_AMQP_URL",   "WEFT_AMQP_URL_FILE",     "WEFT_DATABASE_URL",   "WEFT_DATABASE_URL_FILE",
    "WEFT_REDIS_URL",  "WEFT_REDIS_URL_FILE",    "WEFT_DATA_DIR",       "WEFT_LOG_LEVEL",
    "WEFT_LOG_FORMAT", "WEFT_MAX_MESSAGE_BYTES", "WEFT_MAX_ACTIVITIES", "WEFT_TASK_TIMEOUT_S",
    "WEFT_HANDOFF_SHARDS",
    "WEFT_QUEUE_TYPE",
};

static void clean_environment(void)
{
    for (size_t i = 0; i < sizeof config_vars / sizeof config_vars[0]; i++)
        unsetenv(config_vars[i]);
}

TestSuite(config, .init = clean_environment);

/* A new temporary file holding content; the caller removes path. */
static void write_file(char path[32], const char *content)
{
    strcpy(path, "/tmp/weft-config-XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0, "cannot create a temporary file");
    FILE *f = fdopen(fd, "w");
    fputs(content, f);
    fclose(f);
}

static weft_config init_ok(void)
{
    weft_config cfg;
    weft_err err = {0};
    cr_assert_eq(weft_config_init(&cfg, &err), WEFT_OK, "%s", err.msg);
    return cfg;
}

Test(config, empty_environment_gives_the_documented_defaults)
{
    weft_config cfg = init_ok();
    cr_assert_str_eq(cfg.amqp_url, "amqp://guest:guest@127.0.0.1:5672");
    cr_assert_str_eq(cfg.database_url, "postgresql://weft@127.0.0.1:5432/weft");
    cr_assert_str_eq(cfg.redis_url, "redis://127.0.0.1:6379/0");
    cr_assert_null(cfg.data_dir);
    cr_assert_eq(cfg.log_level, WEFT_LOG_INFO);
    cr_assert_eq(cfg.log_format, WEFT_LOG_TEXT);
    cr_assert_eq(cfg.limits.max_message_bytes, 1024 * 1024);
    cr_assert_eq(cfg.limits.max_activities, 10000);
    cr_assert_eq(cfg.prefetch, 4);
    cr_assert_eq(cfg.concurrency, 2);
    cr_assert_eq(cfg.grace_s, 30);
    cr_assert_eq(cfg.sweep_interval_s, 30);
    cr_assert_eq(cfg.sweep_after_s, 120);
    cr_assert_eq(cfg.task_timeout_s, 3600);
    cr_assert_eq(cfg.queue_type, WEFT_QUEUE_CLASSIC);
    weft_config_finish(&cfg);
}

Test(config, queue_type_is_classic_or_quorum)
{
    setenv("WEFT_QUEUE_TYPE", "quorum", 1);
    weft_config cfg = init_ok();
    cr_assert_eq(cfg.queue_type, WEFT_QUEUE_QUORUM);
    weft_config_finish(&cfg);
    setenv("WEFT_QUEUE_TYPE", "classic", 1);
    cfg = init_ok();
    cr_assert_eq(cfg.queue_type, WEFT_QUEUE_CLASSIC);
    weft_config_finish(&cfg);
}

Test(config, another_queue_type_is_refused_with_the_allowed_ones)
{
    static const char *const refused[] = {"stream", "Quorum", "quorum ", "classic,quorum"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        setenv("WEFT_QUEUE_TYPE", refused[i], 1);
        weft_config cfg;
        weft_err err = {0};
        cr_assert_eq(weft_config_init(&cfg, &err), WEFT_EINVAL, "'%s' accepted", refused[i]);
        cr_assert(strstr(err.msg, "WEFT_QUEUE_TYPE") && strstr(err.msg, "classic or quorum"), "%s",
                  err.msg);
        weft_config_finish(&cfg);
    }
}

Test(config, urls_and_data_dir_come_from_the_environment)
{
    setenv("WEFT_AMQP_URL", "amqps://u:p@mq:5671/v", 1);
    setenv("WEFT_DATABASE_URL", "host=db dbname=weft", 1);
    setenv("WEFT_REDIS_URL", "redis://cache:6380/2", 1);
    setenv("WEFT_DATA_DIR", "data", 1);
    weft_config cfg = init_ok();
    cr_assert_str_eq(cfg.amqp_url, "amqps://u:p@mq:5671/v");
    cr_assert_str_eq(cfg.database_url, "host=db dbname=weft");
    cr_assert_str_eq(cfg.redis_url, "redis://cache:6380/2");
    cr_assert_str_eq(cfg.data_dir, "data");
    weft_config_finish(&cfg);
}

Test(config, an_empty_variable_counts_as_unset)
{
    setenv("WEFT_REDIS_URL", "", 1);
    setenv("WEFT_DATA_DIR", "", 1);
    setenv("WEFT_LOG_LEVEL", "", 1);
    weft_config cfg = init_ok();
    cr_assert_str_eq(cfg.redis_url, "redis://127.0.0.1:6379/0");
    cr_assert_null(cfg.data_dir);
    cr_assert_eq(cfg.log_level, WEFT_LOG_INFO);
    weft_config_finish(&cfg);
}

Test(config, url_file_gives_its_first_line_without_the_line_end)
{
    char path[32];
    write_file(path, "postgresql://weft:s3cret@db/weft\r\nsecond line\n");
    setenv("WEFT_DATABASE_URL_FILE", path, 1);
    weft_config cfg = init_ok();
    cr_assert_str_eq(cfg.database_url, "postgresql://weft:s3cret@db/weft");
    weft_config_finish(&cfg);
    remove(path);
}

Test(config, url_variable_wins_over_its_file)
{
    char path[32];
    write_file(path, "redis://from-file/0\n");
    setenv("WEFT_REDIS_URL_FILE", path, 1);
    setenv("WEFT_REDIS_URL", "redis://from-env/0", 1);
    weft_config cfg = init_ok();
    cr_assert_str_eq(cfg.redis_url, "redis://from-env/0");
    weft_config_finish(&cfg);
    remove(path);
}

Test(config, unreadable_url_file_is_refused_naming_the_variable_and_path)
{
    setenv("WEFT_AMQP_URL_FILE", "/nonexistent/weft-amqp-url", 1);
    weft_config cfg;
    weft_err err = {0};
    cr_assert_eq(weft_config_init(&cfg, &err), WEFT_EINVAL);
    cr_assert(strstr(err.msg, "WEFT_AMQP_URL_FILE: cannot read '/nonexistent/weft-amqp-url'"), "%s",
              err.msg);
    weft_config_finish(&cfg);
}

Test(config, empty_url_file_is_refused)
{
    char path[32];
    write_file(path, "\n");
    setenv("WEFT_REDIS_URL_FILE", path, 1);
    weft_config cfg;
    weft_err err = {0};
    cr_assert_eq(weft_config_init(&cfg, &err), WEFT_EINVAL);
    cr_assert(strstr(err.msg, "WEFT_REDIS_URL_FILE") && strstr(err.msg, "is empty"), "%s", err.msg);
    weft_config_finish(&cfg);
    remove(path);
}

Test(config, log_settings_and_limits_come_from_the_environment)
{
    setenv("WEFT_LOG_LEVEL", "debug", 1);
    setenv("WEFT_LOG_FORMAT", "json", 1);
    setenv("WEFT_MAX_MESSAGE_BYTES", "2048", 1);
    setenv("WEFT_MAX_ACTIVITIES", "5", 1);
    setenv("WEFT_TASK_TIMEOUT_S", "0", 1);
    weft_config cfg = init_ok();
    cr_assert_eq(cfg.log_level, WEFT_LOG_DEBUG);
    cr_assert_eq(cfg.log_format, WEFT_LOG_JSON);
    cr_assert_eq(cfg.limits.max_message_bytes, 2048);
    cr_assert_eq(cfg.limits.max_activities, 5);
    cr_assert_eq(cfg.task_timeout_s, 0, "0 turns the default task timeout off");
    weft_config_finish(&cfg);
}

Test(config, bad_environment_value_is_refused_naming_the_variable_and_the_rule)
{
    static const struct {
        const char *var, *value, *expect;
    } cases[] = {
        {"WEFT_LOG_LEVEL", "loud", "WEFT_LOG_LEVEL: log level must be debug, info, warn or error"},
        {"WEFT_LOG_FORMAT", "xml", "WEFT_LOG_FORMAT: log format must be text or json"},
        {"WEFT_MAX_MESSAGE_BYTES", "1023",
         "WEFT_MAX_MESSAGE_BYTES: max message bytes must be 1024..268435456"},
        {"WEFT_MAX_ACTIVITIES", "many", "WEFT_MAX_ACTIVITIES: max activities must be 1..10000000"},
        {"WEFT_TASK_TIMEOUT_S", "86401",
         "WEFT_TASK_TIMEOUT_S: --task-timeout must be a whole number in 0..86400"},
        {"WEFT_HANDOFF_SHARDS", "0",
         "WEFT_HANDOFF_SHARDS: --handoff-shards must be a whole number in 1..64"},
        {"WEFT_HANDOFF_SHARDS", "65",
         "WEFT_HANDOFF_SHARDS: --handoff-shards must be a whole number in 1..64"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        clean_environment();
        setenv(cases[i].var, cases[i].value, 1);
        weft_config cfg;
        weft_err err = {0};
        cr_assert_eq(weft_config_init(&cfg, &err), WEFT_EINVAL, "%s=%s accepted", cases[i].var,
                     cases[i].value);
        cr_assert_str_eq(err.msg, cases[i].expect);
        weft_config_finish(&cfg);
    }
}

Test(config, each_shared_flag_sets_its_field)
{
    weft_config cfg = init_ok();
    weft_err err = {0};
    static const struct {
        const char *name, *value;
    } flags[] = {
        {"log-level", "error"},   {"log-format", "json"},  {"max-message-bytes", "4096"},
        {"max-activities", "50"}, {"prefetch", "16"},      {"concurrency", "8"},
        {"grace", "0"},           {"sweep-interval", "0"}, {"sweep-after", "600"},
        {"task-timeout", "60"},
    };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        cr_assert_eq(weft_config_flag(&cfg, flags[i].name, flags[i].value, &err), WEFT_OK,
                     "--%s %s: %s", flags[i].name, flags[i].value, err.msg);
    cr_assert_eq(cfg.log_level, WEFT_LOG_ERROR);
    cr_assert_eq(cfg.log_format, WEFT_LOG_JSON);
    cr_assert_eq(cfg.limits.max_message_bytes, 4096);
    cr_assert_eq(cfg.limits.max_activities, 50);
    cr_assert_eq(cfg.prefetch, 16);
    cr_assert_eq(cfg.concurrency, 8);
    cr_assert_eq(cfg.grace_s, 0);
    cr_assert_eq(cfg.sweep_interval_s, 0, "0 turns the sweeper off");
    cr_assert_eq(cfg.sweep_after_s, 600);
    cr_assert_eq(cfg.task_timeout_s, 60);
    weft_config_finish(&cfg);
}

Test(config, flag_accepts_the_ends_of_its_range)
{
    weft_config cfg = init_ok();
    weft_err err = {0};
    cr_assert_eq(weft_config_flag(&cfg, "prefetch", "1", &err), WEFT_OK);
    cr_assert_eq(weft_config_flag(&cfg, "prefetch", "10000", &err), WEFT_OK);
    cr_assert_eq(cfg.prefetch, 10000);
    cr_assert_eq(weft_config_flag(&cfg, "concurrency", "1024", &err), WEFT_OK);
    cr_assert_eq(weft_config_flag(&cfg, "sweep-after", "604800", &err), WEFT_OK);
    cr_assert_eq(weft_config_flag(&cfg, "max-message-bytes", "268435456", &err), WEFT_OK);
    cr_assert_eq(cfg.limits.max_message_bytes, 268435456);
    weft_config_finish(&cfg);
}

Test(config, bad_flag_value_is_refused_with_the_range_and_changes_nothing)
{
    static const struct {
        const char *name, *value, *expect;
    } cases[] = {
        {"prefetch", "0", "--prefetch must be a whole number in 1..10000"},
        {"prefetch", "10001", "--prefetch must be a whole number in 1..10000"},
        {"prefetch", "4x", "--prefetch must be a whole number in 1..10000"},
        {"prefetch", "", "--prefetch must be a whole number in 1..10000"},
        {"prefetch", NULL, "--prefetch must be a whole number in 1..10000"},
        {"concurrency", "1025", "--concurrency must be a whole number in 1..1024"},
        {"grace", "-1", "--grace must be a whole number in 0..86400"},
        {"sweep-interval", "86401", "--sweep-interval must be a whole number in 0..86400"},
        {"sweep-after", "0", "--sweep-after must be a whole number in 1..604800"},
        {"max-activities", "0", "max activities must be 1..10000000"},
        {"max-message-bytes", "99999999999999999999", "max message bytes must be 1024..268435456"},
        {"log-level", NULL, "log level must be debug, info, warn or error"},
        {"log-format", "TEXT ", "log format must be text or json"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        weft_config cfg = init_ok(), before = cfg;
        weft_err err = {0};
        cr_assert_eq(weft_config_flag(&cfg, cases[i].name, cases[i].value, &err), WEFT_EINVAL,
                     "--%s '%s' accepted", cases[i].name, cases[i].value);
        cr_assert_str_eq(err.msg, cases[i].expect);
        cr_assert_eq(memcmp(&cfg, &before, sizeof cfg), 0, "--%s changed the config",
                     cases[i].name);
        weft_config_finish(&cfg);
    }
}

Test(config, allow_unknown_tasks_is_a_switch_that_takes_no_value)
{
    weft_config cfg = init_ok();
    weft_err err = {0};
    cr_expect_not(cfg.allow_unknown_tasks, "the check is on by default");
    cr_expect(weft_config_is_switch("allow-unknown-tasks"));
    cr_expect_not(weft_config_is_switch("prefetch"));
    cr_expect_eq(weft_config_flag(&cfg, "allow-unknown-tasks", "yes", &err), WEFT_EINVAL);
    cr_expect_str_eq(err.msg, "--allow-unknown-tasks takes no value");
    cr_expect_not(cfg.allow_unknown_tasks);
    cr_expect_eq(weft_config_flag(&cfg, "allow-unknown-tasks", NULL, &err), WEFT_OK, "%s", err.msg);
    cr_expect(cfg.allow_unknown_tasks);
    weft_config_finish(&cfg);
}

Test(config, unknown_flag_is_not_found_so_the_caller_may_handle_it)
{
    weft_config cfg = init_ok();
    weft_err err = {0};
    cr_assert_eq(weft_config_flag(&cfg, "wait", NULL, &err), WEFT_ENOTFOUND);
    cr_assert_str_eq(err.msg, "unknown option --wait");
    weft_config_finish(&cfg);
}

Test(config, parse_int_takes_whole_decimals_within_inclusive_bounds)
{
    long v = 0;
    cr_assert(weft_parse_int("42", 0, 42, &v));
    cr_assert_eq(v, 42);
    cr_assert(weft_parse_int("-3", -5, 5, &v));
    cr_assert_eq(v, -3);
    cr_assert(weft_parse_int("010", 0, 100, &v));
    cr_assert_eq(v, 10, "decimal, not octal");
    v = 7;
    cr_assert_not(weft_parse_int("43", 0, 42, &v));
    cr_assert_not(weft_parse_int("-6", -5, 5, &v));
    cr_assert_not(weft_parse_int("0x10", 0, 100, &v));
    cr_assert_not(weft_parse_int("1.5", 0, 100, &v));
    cr_assert_not(weft_parse_int("99999999999999999999", 0, 100, &v));
    cr_assert_not(weft_parse_int("", 0, 100, &v));
    cr_assert_not(weft_parse_int(NULL, 0, 100, &v));
    cr_assert_eq(v, 7, "a refused number leaves out alone");
}

Test(config, redact_url_hides_the_password_only)
{
    static const struct {
        const char *url, *expect;
    } cases[] = {
        {"amqp://guest:guest@127.0.0.1:5672", "amqp://guest:***@127.0.0.1:5672"},
        {"amqps://u:p%40ss@mq:5671/vhost", "amqps://u:***@mq:5671/vhost"},
        {"redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"},
        {"postgresql://weft@db:5432/weft", "postgresql://***@db:5432/weft"},
        {"redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"},
        {"not a url", "not a url"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *r = weft_redact_url(cases[i].url);
        cr_assert_str_eq(r, cases[i].expect);
        free(r);
    }
}

static void expect_redacted(const char *url, const char *want)
{
    char *got = weft_redact_url(url);
    cr_expect_str_eq(got, want, "redact(%s)", url);
    free(got);
}

Test(config, redact_url_keeps_path_query_and_fragment_even_with_at_signs)
{
    expect_redacted("http://u:p@host/path?to=a@b.c&x=1#f@g",
                    "http://u:***@host/path?to=a@b.c&x=1#f@g");
    expect_redacted("https://host/x?user=a:b@c", "https://host/x?user=a:b@c");
    expect_redacted("http://host:8080/?q=1", "http://host:8080/?q=1");
    expect_redacted("redis://:pw@[::1]:6379/2", "redis://:***@[::1]:6379/2");
}

Test(config, redact_url_hides_a_password_with_a_raw_at_sign_whole)
{
    expect_redacted("http://u:p@ss@host/", "http://u:***@host/");
}

Test(config, redact_url_hides_a_lone_user_name_that_may_be_a_token)
{
    expect_redacted("https://ghp_token123@example.com/x.git", "https://***@example.com/x.git");
}

Test(config, redact_url_hides_the_password_of_a_libpq_key_value_string)
{
    expect_redacted("host=db user=weft password=s3cret dbname=weft",
                    "host=db user=weft password=*** dbname=weft");
    expect_redacted("password = 's3 cret' host=db", "password = *** host=db");
    expect_redacted("host=db dbname=weft", "host=db dbname=weft");
    expect_redacted("no scheme?next=http://u:p@h", "no scheme?next=http://u:p@h");
}

static void expect_scrubbed(const char *text, const char *url, const char *want)
{
    char *got = weft_redact_secret(text, url);
    cr_expect_str_eq(got, want, "redact_secret(%s, %s)", text, url);
    free(got);
}

Test(config, redact_secret_hides_the_password_as_written_decoded_and_up_to_a_bad_escape)
{
    const char *url = "postgresql://weft:PgSecret%ZZleak@db/weft";
    expect_scrubbed("invalid percent-encoded token: \"PgSecret%ZZleak\"", url,
                    "invalid percent-encoded token: \"***\"");
    expect_scrubbed("saw PgSecret then", url, "saw *** then");
    expect_scrubbed("p@ss and p%40ss", "amqp://u:p%40ss@h", "*** and ***");
    expect_scrubbed("password authentication failed for user \"weft\"", url,
                    "password authentication failed for user \"weft\"");
}

Test(config, redact_secret_knows_key_value_strings_and_urls_without_passwords)
{
    expect_scrubbed("bad s3cret here", "host=db password=s3cret", "bad *** here");
    expect_scrubbed("nothing to hide", "redis://127.0.0.1:6379/0", "nothing to hide");
    expect_scrubbed("user weft", "postgresql://weft@db/weft", "user weft");
}

Test(config, metrics_and_http_take_host_port_from_flags_and_environment)
{
    setenv("WEFT_METRICS_ADDR", "127.0.0.1:9100", 1);
    setenv("WEFT_API_TOKEN_FILE", "/run/secrets/weft-token", 1);
    weft_config cfg;
    weft_err err = {0};
    cr_assert_eq(weft_config_init(&cfg, &err), WEFT_OK, "%s", err.msg);
    cr_assert_str_eq(cfg.metrics_addr, "127.0.0.1:9100");
    cr_assert_str_eq(cfg.token_file, "/run/secrets/weft-token");
    cr_assert_null(cfg.http_addr);
    cr_assert_eq(weft_config_flag(&cfg, "http", ":8080", &err), WEFT_OK);
    cr_assert_str_eq(cfg.http_addr, ":8080");
    cr_assert_eq(weft_config_flag(&cfg, "metrics", "[::1]:9101", &err), WEFT_OK);
    cr_assert_str_eq(cfg.metrics_addr, "[::1]:9101");
    const char *bad[] = {"9100", "host:", "host:70000", "::1:9100", "h:p"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(weft_config_flag(&cfg, "metrics", bad[i], &err), WEFT_EINVAL, "%s", bad[i]);
        cr_assert(strstr(err.msg, "HOST:PORT"), "%s", err.msg);
    }
    weft_config_finish(&cfg);
    unsetenv("WEFT_METRICS_ADDR");
    unsetenv("WEFT_API_TOKEN_FILE");
}

Test(config, handoff_shards_default_to_one_and_come_from_the_environment_or_the_flag)
{
    weft_config cfg = init_ok();
    cr_assert_eq(cfg.handoff_shards, 1, "one shard: the topology of a single handoff queue");
    cr_assert_eq(cfg.handoff_serve, 0, "every shard is served unless --shard names some");
    weft_config_finish(&cfg);
    setenv("WEFT_HANDOFF_SHARDS", "4", 1);
    cfg = init_ok();
    cr_assert_eq(cfg.handoff_shards, 4);
    weft_err err = {0};
    cr_assert_eq(weft_config_flag(&cfg, "handoff-shards", "64", &err), WEFT_OK, "%s", err.msg);
    cr_assert_eq(cfg.handoff_shards, 64, "the flag overrides the environment");
    weft_config_finish(&cfg);
}

Test(config, shard_takes_a_list_of_shard_numbers_and_shards_takes_all)
{
    weft_config cfg = init_ok();
    weft_err err = {0};
    cr_assert_eq(weft_config_flag(&cfg, "shard", "2,3", &err), WEFT_OK, "%s", err.msg);
    cr_assert_eq(weft_config_flag(&cfg, "shard", "63", &err), WEFT_OK, "%s", err.msg);
    cr_assert_eq(cfg.handoff_serve, (UINT64_C(1) << 2) | (UINT64_C(1) << 3) | (UINT64_C(1) << 63));
    cr_assert_eq(weft_config_flag(&cfg, "shards", "all", &err), WEFT_OK, "%s", err.msg);
    cr_assert_eq(cfg.handoff_serve, 0, "all: every shard");
    static const char *const bad_shard[] = {"", "x", "-1", "64", "1,", ",1", "1;2", "01x"};
    for (size_t i = 0; i < sizeof bad_shard / sizeof bad_shard[0]; i++) {
        cr_assert_eq(weft_config_flag(&cfg, "shard", bad_shard[i], &err), WEFT_EINVAL,
                     "--shard '%s' accepted", bad_shard[i]);
        cr_assert(strstr(err.msg, "--shard takes shard numbers 0..63"), "%s", err.msg);
    }
    cr_assert_eq(weft_config_flag(&cfg, "shard", NULL, &err), WEFT_EINVAL);
    cr_assert_eq(weft_config_flag(&cfg, "shards", "4", &err), WEFT_EINVAL);
    cr_assert(strstr(err.msg, "--handoff-shards N"), "names the flag for a count: %s", err.msg);
    cr_assert_eq(cfg.handoff_serve, 0, "a refused value changes nothing");
    weft_config_finish(&cfg);
}
