"""Running one video as segments in parallel: planning, workers (local processes or Ray), join."""
