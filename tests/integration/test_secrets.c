/* No password of a service URL reaches a log line or the CLI's stderr, even when a library's
 * own error text quotes the part of the URL it could not read (libpq does, for a bad
 * percent-encoding). */
#include "harness.h"

#include "alloc.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t proc;
static char *log_path;

static void cleanup(void)
{
    if (proc > 0) {
        kill(proc, SIGKILL);
        waitpid(proc, NULL, 0);
    }
    if (log_path)
        unlink(log_path);
    free(log_path);
}

TestSuite(secrets, .fini = cleanup, .timeout = 60);

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert(f, "cannot read %s", path);
    char *buf = weft_xcalloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Runs binary with env_var set to url for about 1.5 s (it logs its failure to connect and
 * retries, or exits), then checks that it said something and never the secret. */
static void expect_no_leak(const char *binary, const char *env_var, const char *url,
                           const char *secret, const char *said)
{
    setenv(env_var, url, 1);
    log_path = harness_write_temp("");
    proc = harness_spawn_logged(binary, NULL, log_path);
    usleep(1500 * 1000);
    char *log = slurp(log_path);
    cr_assert(strstr(log, said), "%s logged no '%s' with %s set: %s", binary, said, env_var, log);
    cr_expect(!strstr(log, secret), "%s leaked the %s password: %s", binary, env_var, log);
    free(log);
}

Test(secrets, postgres_password_with_a_bad_escape_stays_out_of_the_log)
{
    const char *url = getenv("WEFT_DATABASE_URL");
    cr_assert(url);
    expect_no_leak("weft-entry", "WEFT_DATABASE_URL",
                   "postgresql://weft:PgSecret%ZZleak@127.0.0.1:1/weft", "PgSecret", "postgres");
}

Test(secrets, postgres_password_of_an_unreachable_server_stays_out_of_the_log)
{
    expect_no_leak("weft-entry", "WEFT_DATABASE_URL",
                   "postgresql://weft:PgSecret2@127.0.0.1:1/weft", "PgSecret2", "postgres");
}

Test(secrets, redis_password_with_a_bad_escape_stays_out_of_the_log)
{
    expect_no_leak("weft-handoff", "WEFT_REDIS_URL", "redis://:RdSecret%ZZleak@127.0.0.1:1/0",
                   "RdSecret", "redis");
}

Test(secrets, amqp_password_with_a_bad_escape_stays_out_of_the_log)
{
    expect_no_leak("weft-entry", "WEFT_AMQP_URL", "amqp://guest:MqSecret%ZZleak@127.0.0.1:1",
                   "MqSecret", "WEFT_AMQP_URL");
}

Test(secrets, cli_status_does_not_print_the_postgres_password)
{
    char *cmd = weft_xasprintf("WEFT_DATABASE_URL='postgresql://weft:PgSecret%%ZZleak@127.0.0.1:1/"
                               "weft' '%s' status 00000000-0000-4000-8000-000000000000 2>&1",
                               getenv("WEFT_BIN_WEFT"));
    char *out;
    int rc = harness_run(cmd, &out);
    cr_expect_eq(rc, 3, "exit 3 for an unreachable service, got %d: %s", rc, out);
    cr_expect(strstr(out, "postgres"), "no error printed: %s", out);
    cr_expect(!strstr(out, "PgSecret"), "weft status leaked the password: %s", out);
    free(out);
    free(cmd);
}
