-- Peer (c): a recursive PL/pgSQL function building the nested tree.
SELECT coursenav_bench.navigation_plpgsql(:course);
