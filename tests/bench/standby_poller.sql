-- Run on the hot standby by .ci/bench.sh while the primary bumps :course
-- :bumps times: each look is a statement of its own (a fresh snapshot),
-- and every version is reported the first time it is seen, with the time,
-- as "NOTICE:  seen <version><tab><timestamp>".
SET client_min_messages = notice;
-- psql does not substitute variables inside a dollar-quoted body.
SELECT set_config('coursenav_bench.course', :'course', false),
       set_config('coursenav_bench.bumps', :'bumps', false) \gset
DO $poll$
DECLARE
    course text := current_setting('coursenav_bench.course');
    bumps int := current_setting('coursenav_bench.bumps')::int;
    last uuid := coursenav.block_structure_version(course);
    now_serving uuid;
    seen int := 0;
    deadline timestamptz := clock_timestamp() + interval '10 minutes';
BEGIN
    WHILE seen < bumps AND clock_timestamp() < deadline LOOP
        now_serving := coursenav.block_structure_version(course);
        IF now_serving IS DISTINCT FROM last THEN
            RAISE NOTICE 'seen %', now_serving || E'\t' || clock_timestamp();
            last := now_serving;
            seen := seen + 1;
        END IF;
        PERFORM pg_sleep(0.0002);
    END LOOP;
END $poll$;
