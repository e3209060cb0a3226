"""Run-directory analysis: load -> summarize -> evaluate; HTML report and SLO gate."""
