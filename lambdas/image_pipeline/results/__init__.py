"""Results: the stored result of each image (the results table) and one owner's image library."""
