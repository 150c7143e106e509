/* Shared by the pipeline's unit tests: a decoder's sink that hands events and rejects
 * to the pipeline under test (pl), from source "t" at the delivery position `at`. */
#ifndef CP_TEST_PIPELINE_FEED_H
#define CP_TEST_PIPELINE_FEED_H

#include "clickpulse/pipeline.h"

static cp_pipeline *pl;
static const char *at;

static int on_event(void *ud, const cp_event *ev)
{
    (void)ud;
    return cp_pipeline_submit(pl, ev, CP_SLICE_LIT("t"), cp_slice_from(at));
}

static int on_reject(void *ud, const cp_reject *r)
{
    (void)ud;
    return cp_pipeline_reject(pl, r, CP_SLICE_LIT("t"), cp_slice_from(at), 1790856000000LL);
}

#endif
