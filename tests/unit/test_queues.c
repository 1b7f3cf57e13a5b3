/* The queues by name: the AMQP queue of a routing queue, and the handoff shard of a
 * workflow, which every process must compute alike (queues.h). */
#include "queues.h"
#include "uuid.h"

#include <criterion/criterion.h>
#include <string.h>

Test(queues, one_shard_is_the_handoff_queue_of_old)
{
    char q[WEFT_QUEUE_HANDOFF_MAX];
    char uid[WEFT_UUID_LEN + 1];
    for (int i = 0; i < 100; i++) {
        weft_uuid_new(uid);
        cr_assert_str_eq(weft_queue_handoff(uid, 1, q), "workflow_handoff");
        cr_assert_str_eq(weft_queue_handoff(uid, 0, q), "workflow_handoff", "0 counts as 1");
    }
}

Test(queues, shard_zero_keeps_the_name_and_the_others_take_a_suffix)
{
    char q[WEFT_QUEUE_HANDOFF_MAX];
    cr_assert_str_eq(weft_queue_handoff_name(0, q), WEFT_QUEUE_HANDOFF);
    cr_assert_str_eq(weft_queue_handoff_name(1, q), "workflow_handoff.1");
    cr_assert_str_eq(weft_queue_handoff_name(63, q), "workflow_handoff.63");
}

Test(queues, the_shard_is_fixed_by_the_uid_text_in_any_letter_case)
{
    /* FNV-1a 32 of the text, mod N: pinned, so no release moves a workflow's handoffs */
    static const char uid[] = "6f1c1b1e-8d0a-4c3b-9a57-2f0e5d7c4b21";
    cr_assert_eq(weft_queue_handoff_shard(uid, 4), weft_queue_handoff_shard(uid, 4));
    cr_assert_eq(weft_queue_handoff_shard("", 7), (int)(2166136261u % 7u));
    cr_assert_eq(weft_queue_handoff_shard("a", 1000), (int)(0xe40c292cu % 1000u));
    cr_assert_eq(weft_queue_handoff_shard("6F1C1B1E-8D0A-4C3B-9A57-2F0E5D7C4B21", 64),
                 weft_queue_handoff_shard(uid, 64), "Postgres gives back the lower-case text");
}

Test(queues, uids_spread_over_every_shard)
{
    enum { N = 4, UIDS = 4000 };
    int count[N] = {0};
    char uid[WEFT_UUID_LEN + 1];
    for (int i = 0; i < UIDS; i++) {
        weft_uuid_new(uid);
        int k = weft_queue_handoff_shard(uid, N);
        cr_assert(k >= 0 && k < N);
        count[k]++;
    }
    /* 1000 expected each; 800 is more than six standard deviations below */
    for (int k = 0; k < N; k++)
        cr_assert_gt(count[k], 800, "shard %d got %d of %d", k, count[k], UIDS);
}

Test(queues, handoff_queues_are_told_from_the_others)
{
    static const char *const yes[] = {"workflow_handoff", "workflow_handoff.1",
                                      "workflow_handoff.63"};
    static const char *const no[] = {"workflow_handoff.0",
                                     "workflow_handoff.64",
                                     "workflow_handoff.",
                                     "workflow_handoff.01",
                                     "workflow_handoff.1x",
                                     "workflow_handoffs",
                                     "default",
                                     "weft.tasks.workflow_handoff"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        cr_assert(weft_queue_is_handoff(yes[i]), "%s", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        cr_assert(!weft_queue_is_handoff(no[i]), "%s", no[i]);
}
