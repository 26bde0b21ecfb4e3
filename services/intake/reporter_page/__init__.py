"""The reporter's own page of their concern (``/c/<token>``): where it stands, its steps,
and the rating of its resolution, in the reporter's language."""
