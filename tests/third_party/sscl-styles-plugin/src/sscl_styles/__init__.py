"""A third-party sscl package as users write them: each component kind in another class style."""
