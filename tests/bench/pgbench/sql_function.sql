-- Peer (b): one SQL function aggregating a plain blocks table.
SELECT coursenav_bench.navigation_sql(:course);
