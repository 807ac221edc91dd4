-- Peer (a): the same json text in a plain table, by primary key.
SELECT tree FROM coursenav_bench.stored_trees WHERE course_id = :course;
