-- Run on the hot standby by .ci/bench.sh while the primary bumps :course
-- :bumps times: each look is a statement of its own (a fresh snapshot),
-- and every version is reported the first time it is seen, with the time,
-- as "NOTICE:  seen <version> at <timestamp>" (which
-- coursenav_bench.take_standby_poller_output reads). It stops at the last bump's
-- version ('standby-<bumps>'), not after counting <bumps> changes: two bumps
-- replayed between two looks show as one change (seen on a loaded 2-core
-- CI machine, where counting waited out its 10 minutes), and the report
-- says how many of the bumps were seen.
SET client_min_messages = notice;
-- psql does not substitute variables inside a dollar-quoted body.
SELECT set_config('coursenav_bench.course', :'course', false),
       set_config('coursenav_bench.bumps', :'bumps', false) \gset
DO $poll$
DECLARE
    course text := current_setting('coursenav_bench.course');
    last uuid := coursenav.block_structure_version(course);
    now_serving uuid;
    last_bump text := 'standby-' || current_setting('coursenav_bench.bumps');
    serving_bump text;
    deadline timestamptz := clock_timestamp() + interval '10 minutes';
BEGIN
    WHILE serving_bump IS DISTINCT FROM last_bump AND clock_timestamp() < deadline LOOP
        now_serving := coursenav.block_structure_version(course);
        IF now_serving IS DISTINCT FROM last THEN
            RAISE NOTICE 'seen % at %', now_serving, clock_timestamp();
            last := now_serving;
            SELECT h.course_version INTO serving_bump FROM coursenav.version_history h
             WHERE h.course_id = course AND h.block_structure_version = now_serving;
        END IF;
        PERFORM pg_sleep(0.0002);
    END LOOP;
END $poll$;
