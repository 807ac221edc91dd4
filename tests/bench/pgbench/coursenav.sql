-- coursenav: the materialised tree, by course id.
SELECT coursenav.navigation_tree(:course);
