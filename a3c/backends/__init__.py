"""Where learners run. `local`: processes on this machine sharing memory (or threads, serially)."""
